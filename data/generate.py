"""Write the bundled data set: posts, comments, albums, todos and users, as JSON files.

The shapes, counts, id ranges and relations are those of the public jsonplaceholder service
(100 posts, 500 comments, 100 albums, 200 todos, 10 users; 5 comments per post, 10 posts, 10
albums and 20 todos per user), so code written against one works against the other. The text is
this project's own: made up from the word lists below by a seeded ``random.Random``, so running
this script again reproduces the files byte for byte.

Usage::

    python data/generate.py            # rewrite the files beside this script
    python data/generate.py /tmp/out   # write them somewhere else
"""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path
from typing import Any

__all__ = ["COUNTS", "build", "main", "render"]

COUNTS = {"posts": 100, "comments": 500, "albums": 100, "todos": 200, "users": 10}

# fmt: off
ADJECTIVES = (
    "amber", "brisk", "calm", "crooked", "dusty", "early", "eager", "faint", "gentle", "golden",
    "hollow", "humble", "idle", "jolly", "keen", "late", "little", "lively", "lucky", "mellow",
    "misty", "narrow", "nimble", "old", "patient", "plain", "quiet", "rapid", "restless", "rusty",
    "salty", "silent", "silver", "sleepy", "slow", "steady", "stubborn", "sunny", "tidy", "tiny",
    "urgent", "velvet", "wandering", "warm", "wild", "windy", "wooden", "young",
)
NOUNS = (
    "anchor", "apple", "attic", "badger", "barrel", "basket", "beacon", "bicycle", "bridge",
    "candle", "canyon", "harbour", "cellar", "chimney", "clock", "cloud", "comet", "compass",
    "cottage", "engine", "feather", "ferry", "fiddle", "garden", "glacier", "hammer", "heron",
    "island", "kettle", "kite", "ladder", "lantern", "meadow", "mill", "orchard", "otter", "parcel",
    "pebble", "pigeon", "quarry", "railway", "river", "saddle", "signal", "station", "teapot",
    "thistle", "tunnel", "valley", "violin", "wagon", "whistle", "window", "workshop",
)
VERBS = (
    "waits for", "carries", "follows", "finds", "mends", "watches", "paints", "counts", "borrows",
    "visits", "guards", "answers", "sorts", "greets", "polishes", "remembers", "packs", "measures",
    "forgets", "chases", "hides", "lights", "repairs", "collects",
)
PLACES = (
    "by the river", "after lunch", "before dawn", "in the rain", "at the station",
    "under the bridge", "on market day", "behind the mill", "near the harbour", "all winter",
    "in the attic", "at the crossroads", "past midnight", "over the hills", "in a hurry",
)
TASKS = (
    "oil", "label", "sweep", "check", "repaint", "water", "return", "wind", "sort", "fix", "order",
    "measure", "tidy", "post", "weigh", "wrap", "restring", "sharpen", "fold", "clean",
)
FIRST_NAMES = (
    "Ada", "Bruno", "Celia", "Dmitri", "Esme", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kaito",
    "Lena", "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Soren", "Tamsin",
)
LAST_NAMES = (
    "Ashdown", "Bellweather", "Corrigan", "Dunmore", "Eastwick", "Fairhall", "Greenholt",
    "Hartigan", "Ingleby", "Juniper", "Kestrel", "Lindqvist", "Marchetti", "Northcote", "Okonkwo",
    "Pemberton", "Quill", "Rosewarne", "Stanhope", "Thackeray",
)
STREETS = (
    "Birch", "Cinder", "Copper", "Ferry", "Foundry", "Lantern", "Marsh", "Mill", "Orchard",
    "Pilgrim", "Quarry", "Rook", "Saltmarsh", "Tanner", "Weaver", "Willow",
)
STREET_KINDS = ("Street", "Lane", "Road", "Row", "Walk", "Way", "Close", "Hill")
CITIES = (
    "Ambleford", "Brackenmoor", "Coldharbour", "Dunwick", "Eastmere", "Fallowfield", "Greywater",
    "Hollins Cross", "Kettlewell Bay", "Lowmarsh", "Northbridge", "Stillwater",
)
COMPANY_WORDS = (
    "Anchor", "Beacon", "Bramble", "Compass", "Driftwood", "Ember", "Foxglove", "Harbour",
    "Kestrel", "Lantern", "Meridian", "Orchard", "Pinecone", "Signal", "Thistle", "Tideway",
)
COMPANY_KINDS = ("& Sons", "Works", "Cooperative", "Supply", "Trading", "Collective", "Ltd")
DOMAINS = ("example.com", "example.org", "example.net", "mail.test", "post.test")
CATCH_ADJECTIVES = (
    "asynchronous", "concurrent", "cooperative", "event-driven", "non-blocking", "patient",
    "pipelined", "responsive", "scalable", "streaming", "structured", "well-timed",
)
CATCH_NOUNS = (
    "deliveries", "timetables", "workflows", "queues", "schedules", "pipelines", "handovers",
    "rounds", "routes", "errands",
)
BS_VERBS = ("batch", "cache", "gather", "stream", "schedule", "retry", "throttle", "await")
BS_NOUNS = ("parcels", "requests", "timelines", "orders", "tickets", "lanterns", "signals")
# fmt: on


def _sentence(rng: random.Random) -> str:
    return (
        f"the {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {rng.choice(VERBS)} "
        f"the {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {rng.choice(PLACES)}"
    )


def _title(rng: random.Random) -> str:
    words = [rng.choice(ADJECTIVES), rng.choice(NOUNS)]
    if rng.random() < 0.6:
        words += ["and", "the", rng.choice(ADJECTIVES), rng.choice(NOUNS)]
    return " ".join(words)


def _body(rng: random.Random, lines: int) -> str:
    return "\n".join(_sentence(rng) for _ in range(lines))


def _posts(rng: random.Random) -> list[dict[str, Any]]:
    return [
        {"userId": (i - 1) // 10 + 1, "id": i, "title": _title(rng), "body": _body(rng, 4)}
        for i in range(1, COUNTS["posts"] + 1)
    ]


def _comments(rng: random.Random) -> list[dict[str, Any]]:
    comments = []
    for i in range(1, COUNTS["comments"] + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        comments.append(
            {
                "postId": (i - 1) // 5 + 1,
                "id": i,
                "name": _title(rng),
                "email": f"{first}.{last}{rng.randint(1, 99)}@{rng.choice(DOMAINS)}",
                "body": _body(rng, rng.randint(2, 4)),
            }
        )
    return comments


def _albums(rng: random.Random) -> list[dict[str, Any]]:
    return [
        {"userId": (i - 1) // 10 + 1, "id": i, "title": _title(rng)}
        for i in range(1, COUNTS["albums"] + 1)
    ]


def _todos(rng: random.Random) -> list[dict[str, Any]]:
    return [
        {
            "userId": (i - 1) // 20 + 1,
            "id": i,
            "title": f"{rng.choice(TASKS)} the {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}",
            "completed": rng.random() < 0.45,
        }
        for i in range(1, COUNTS["todos"] + 1)
    ]


def _users(rng: random.Random) -> list[dict[str, Any]]:
    firsts = rng.sample(FIRST_NAMES, COUNTS["users"])
    lasts = rng.sample(LAST_NAMES, COUNTS["users"])
    users = []
    for i, (first, last) in enumerate(zip(firsts, lasts, strict=True), start=1):
        company = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}"
        website = company.split()[0].lower() + "." + rng.choice(("test", "example"))
        users.append(
            {
                "id": i,
                "name": f"{first} {last}",
                "username": f"{first.lower()}{last[:3].lower()}{rng.randint(1, 9)}",
                "email": f"{first.lower()}@{rng.choice(DOMAINS)}",
                "address": {
                    "street": f"{rng.randint(1, 240)} {rng.choice(STREETS)} "
                    f"{rng.choice(STREET_KINDS)}",
                    "suite": f"{rng.choice(('Apt.', 'Suite', 'Flat'))} {rng.randint(1, 900)}",
                    "city": rng.choice(CITIES),
                    "zipcode": f"{rng.randint(10000, 99999)}-{rng.randint(1000, 9999)}",
                    "geo": {
                        "lat": f"{rng.uniform(-90, 90):.4f}",
                        "lng": f"{rng.uniform(-180, 180):.4f}",
                    },
                },
                "phone": f"{rng.randint(200, 989)}-555-{rng.randint(100, 999):04d}",
                "website": website,
                "company": {
                    "name": company,
                    "catchPhrase": f"{rng.choice(CATCH_ADJECTIVES).capitalize()} "
                    f"{rng.choice(CATCH_NOUNS)} for everyone",
                    "bs": f"{rng.choice(BS_VERBS)} {rng.choice(BS_NOUNS)} "
                    f"{rng.choice(('at scale', 'on time', 'in parallel', 'one by one'))}",
                },
            }
        )
    return users


_BUILDERS = {
    "posts": _posts,
    "comments": _comments,
    "albums": _albums,
    "todos": _todos,
    "users": _users,
}


def build() -> dict[str, list[dict[str, Any]]]:
    """Every resource, by name. Each has its own seeded generator, so they vary independently."""
    return {name: make(random.Random(f"asynckit-{name}")) for name, make in _BUILDERS.items()}


def render(items: list[dict[str, Any]]) -> str:
    """The file text for one resource: the fixed formatting the bundled files use."""
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"


def main(out_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Write the five JSON files into ``out_dir`` (default: beside this script); return paths."""
    folder = Path(out_dir) if out_dir is not None else Path(__file__).resolve().parent
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, items in build().items():
        path = folder / f"{name}.json"
        path.write_text(render(items), encoding="utf-8", newline="\n")
        written.append(path)
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", help="where to write (default: beside this script)")
    for path in main(parser.parse_args().out_dir):
        print(path)
