#!/usr/bin/env python3
"""Generate N tenant configs for `matrix-render render --batch DIR`.

Usage: bench/gen-tenants.py N DIR [--seed S]

Each tenant is DIR/tenant-NNNNN/ with values.yaml (the seed chart's values with the tenant's
own host names; every third tenant has MatrixRTC on) and .secrets.yaml (random secrets, drawn
from a generator seeded with S and the tenant number, so the same N, DIR and S always give
the same files). DIR is emptied of earlier tenant-* folders first.
"""
import argparse
import random
import shutil
import string
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SEED_VALUES = REPO / "tests/fixtures/seed/values.yaml"
SEED_DOMAIN = "danishkodemonkey.net"
TLDS = ["net", "org", "io", "eu", "dev", "chat"]
ALPHABET = string.ascii_letters + string.digits


def secret(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int)
    parser.add_argument("dir", type=Path)
    parser.add_argument("--seed", type=int, default=20261126)
    args = parser.parse_args()

    template = SEED_VALUES.read_text()
    assert "matrixrtc:\n  enabled: false\n" in template
    args.dir.mkdir(parents=True, exist_ok=True)
    for old in args.dir.glob("tenant-*"):
        shutil.rmtree(old)
    for i in range(args.count):
        rng = random.Random(args.seed * 1_000_003 + i)
        name = f"tenant-{i:05d}"
        domain = f"{name}.{rng.choice(['acme', 'example', 'chat', 'matrix', 'home'])}.{rng.choice(TLDS)}"
        values = template.replace(SEED_DOMAIN, domain)
        if i % 3 == 0:
            values = values.replace(
                "matrixrtc:\n  enabled: false\n", "matrixrtc:\n  enabled: true\n"
            )
        ip = f"203.0.113.{rng.randrange(1, 255)}"
        secrets = (
            f"synapse:\n"
            f"  recaptcha:\n"
            f'    siteKey: "{secret(rng, 40)}"\n'
            f'    secretKey: "{secret(rng, 40)}"\n'
            f'  registration_shared_secret: "{secret(rng, 48)}"\n'
            f"coturn:\n"
            f'  turn_shared_secret: "{secret(rng, 48)}"\n'
            f'  public_ip_static: "{ip}"\n'
            f"matrixrtc:\n"
            f"  livekit:\n"
            f'    key: "{secret(rng, 16)}"\n'
            f'    secret: "{secret(rng, 48)}"\n'
        )
        home = args.dir / name
        home.mkdir()
        (home / "values.yaml").write_text(values)
        (home / ".secrets.yaml").write_text(secrets)


if __name__ == "__main__":
    main()
