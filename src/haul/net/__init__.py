"""haul's outbound connections on behalf of downloads and of URLs people give.

guard.py      the address policy and its enforcement on the address connected to
              (an audit hook on ``socket.connect`` inside a scope that follows the work)
transport.py  the httpx transport that resolves, checks and then connects
"""
