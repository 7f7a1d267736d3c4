"""Deleting an account: what it owns is deleted or handed over, by explicit choice, and a
later account never inherits any of it (ids are never given out twice). Every test runs on
SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from haul.settings import Settings
from haul.store.models import Download, IptvProvider, MediaItem, NotificationTarget, Subscription
from tests.support.people import PASSWORD, People, Person, crowd
from tests.support.rows import stored


async def own_things(people: People, person: Person) -> dict[str, Any]:
    """A queued download, a finished one with its file, a media item, an IPTV provider
    (with its password) and a webhook, all owned by ``person``."""
    queued = await person.post(
        "/downloads", json={"url": "http://example.test/film.mkv", "paused": True}
    )
    assert queued.status_code == 201, queued.text
    key = f"user:{person.user_id}"
    finished = await stored(
        people,  # type: ignore[arg-type]
        owner=key,
        user_id=person.user_id,
        files={f"{person.name}/done.bin": b"finished data"},
    )
    movie = await person.post("/media", json={"kind": "movie", "title": "Film", "year": 2001})
    assert movie.status_code == 201, movie.text
    channel = await person.post(
        "/subscriptions", json={"url": f"http://example.test/{person.name}/channel", "paused": True}
    )
    assert channel.status_code == 201, channel.text
    async with people.runtime.db.write() as s:
        s.add(
            IptvProvider(
                name=f"{person.name}-panel",
                url="http://panel.test",
                username=person.name,
                password="provider secret",
                owner_key=key,
            )
        )
        s.add(
            NotificationTarget(
                name=f"{person.name}-hook",
                owner_key=key,
                kind="webhook",
                url="http://hook.test/",
                events=["completed"],
            )
        )
    return {
        "downloads": {queued.json()["id"], finished},
        "file": people.runtime.settings.downloads_root / person.name / "done.bin",
        "media": movie.json()["id"],
    }


async def what_they_see(person: Person) -> dict[str, list[Any]]:
    return {
        "downloads": (await person.get("/downloads")).json()["items"],
        "media": (await person.get("/media")).json()["items"],
        "iptv": (await person.get("/iptv/providers")).json()["items"],
        "notifications": (await person.get("/notifications")).json()["items"],
        "subscriptions": (await person.get("/subscriptions")).json()["items"],
    }


async def rows_of(people: People, key: str) -> int:
    async with people.runtime.db.read() as s:
        counts = [
            await s.scalar(select(func.count()).select_from(t).where(t.owner_key == key))
            for t in (Download, MediaItem, IptvProvider, NotificationTarget, Subscription)
        ]
    return sum(int(c or 0) for c in counts)


async def new_person(people: People, name: str) -> Person:
    user = await people.runtime.accounts.create_user(name, PASSWORD, role="user")
    _view, token = await people.runtime.accounts.create_token(user.id, "tests")
    http = people.client(Authorization=f"Bearer {token}")
    return Person(name, user.id, token, http)


async def test_an_account_that_owns_things_is_deleted_only_by_choice(settings: Settings) -> None:
    async with crowd(settings) as people:
        bob = people.bob
        await own_things(people, bob)
        refused = await people.admin.http.delete(f"/api/v1/users/{bob.user_id}")
        assert refused.status_code == 409
        assert refused.json()["detail"] == (
            "bob owns 2 downloads, 1 media item, 1 IPTV provider, 1 notification target and 1 "
            "subscription. Choose: delete them with the account, or hand them to another user."
        )
        assert await people.runtime.accounts.user(bob.user_id)
        assert (await bob.get("/downloads")).status_code == 200  # nothing happened

        owned = await people.admin.get(f"/users/{bob.user_id}/owned")
        assert owned.json() == {
            "downloads": 2,
            "media_items": 1,
            "iptv_providers": 1,
            "notification_targets": 1,
            "subscriptions": 1,
        }
        for params, said in (
            ({"owned": "transfer"}, "Say which user receives what the account owns."),
            ({"owned": "transfer", "to": bob.user_id}, "cannot be handed to the account itself"),
            ({"owned": "transfer", "to": 9999}, "There is no user 9999 to hand it to."),
            ({"owned": "keep"}, ""),
        ):
            wrong = await people.admin.http.delete(f"/api/v1/users/{bob.user_id}", params=params)
            assert wrong.status_code == 422, params
            assert said in str(wrong.json()["detail"])


async def test_deleting_what_an_account_owns_leaves_nothing_to_a_new_account(
    settings: Settings,
) -> None:
    async with crowd(settings) as people:
        bob, alice = people.bob, people.alice
        theirs = await own_things(people, bob)
        kept = await own_things(people, alice)
        assert theirs["file"].read_bytes() == b"finished data"

        gone = await people.admin.http.delete(
            f"/api/v1/users/{bob.user_id}", params={"owned": "delete"}
        )

        assert gone.status_code == 204, gone.text
        assert not theirs["file"].exists()
        assert await rows_of(people, f"user:{bob.user_id}") == 0
        assert (await bob.get("/downloads")).status_code == 401  # his token went too
        # The next account gets a fresh id and sees nothing of bob's.
        carol = await new_person(people, "carol")
        async with carol.http:
            assert carol.user_id > bob.user_id
            assert await what_they_see(carol) == {
                "downloads": [],
                "media": [],
                "iptv": [],
                "notifications": [],
                "subscriptions": [],
            }
            later = await carol.post(
                "/downloads", json={"url": "http://example.test/new.mkv", "paused": True}
            )
            assert later.json()["id"] > max(theirs["downloads"] | kept["downloads"])
        # alice keeps all of hers
        assert kept["file"].read_bytes() == b"finished data"
        seen = await what_they_see(alice)
        assert {d["id"] for d in seen["downloads"]} == kept["downloads"]
        kinds = ("media", "iptv", "notifications", "subscriptions")
        assert [len(seen[k]) for k in kinds] == [1, 1, 1, 1]


async def test_handing_over_moves_everything_an_account_owns(settings: Settings) -> None:
    async with crowd(settings) as people:
        bob, alice = people.bob, people.alice
        theirs = await own_things(people, bob)

        moved = await people.admin.http.delete(
            f"/api/v1/users/{bob.user_id}",
            params={"owned": "transfer", "to": alice.user_id},
        )

        assert moved.status_code == 204, moved.text
        assert theirs["file"].read_bytes() == b"finished data"
        seen = await what_they_see(alice)
        assert {d["id"] for d in seen["downloads"]} == theirs["downloads"]
        assert [m["id"] for m in seen["media"]] == [theirs["media"]]
        assert [p["name"] for p in seen["iptv"]] == ["bob-panel"]
        assert [n["name"] for n in seen["notifications"]] == ["bob-hook"]
        assert [c["url"] for c in seen["subscriptions"]] == ["http://example.test/bob/channel"]
        async with people.runtime.db.read() as s:
            users = set(
                (
                    await s.scalars(
                        select(Download.user_id).where(Download.id.in_(theirs["downloads"]))
                    )
                ).all()
            )
        assert users == {alice.user_id}
        assert await rows_of(people, f"user:{bob.user_id}") == 0
        carol = await new_person(people, "carol")
        async with carol.http:
            assert carol.user_id > bob.user_id
            assert (await carol.get("/downloads")).json()["items"] == []
