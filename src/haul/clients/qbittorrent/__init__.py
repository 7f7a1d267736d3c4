"""qBittorrent (Web API, 4.x and 5.x): the state mapping; the adapter comes with issue 4."""
