#!/usr/bin/env python3
"""Writes the committed seeds of the `set_flags` fuzz target (fuzz/seeds/set_flags/).

The target decodes its input with the `arbitrary` crate (v1.x), so a seed is the byte
string that decodes to `Input { set, set_string }` with every flag `Flag::Raw(text)`:
front bytes hold the "another element" bools, enum discriminants and string contents;
string lengths are taken from the end of the data, one byte each while at most 256 bytes
remain. Check a seed with `cargo +nightly fuzz fmt set_flags <file>` (run in fuzz/).

Usage: python3 fuzz/tools/set_flags_seeds.py
"""

import hashlib
import pathlib

SEEDS = [
    (["synapse.replicas=2"], []),
    (["coturn.enabled=false"], ["synapse.image.tag=1.120.0"]),
    (["element.ui.roomDirectoryServers={a.example.org,b.example.org}"], []),
    (["element.branding.authFooterLinks[0].text=Rules,element.branding.authFooterLinks[0].url=https://x.example.org/r"], []),
    (["matrixrtc.enabled=true,matrixrtc.livekit.key=k,matrixrtc.livekit.secret=0123456789abcdef0123456789abcdef"], []),
    (["synapse.port=08"], ["element.ui.defaultTheme=yes"]),
    (["synapse.federation.whitelist=null"], ["namespace=on"]),
    (["a\\.b\\,c\\=d\\[e\\{f\\\\g=1"], []),
    (["element.extraConfig.x[2].y=true"], ["element.features.feature_x=null"]),
    (["synapse.replicas=99999999999999999999", "coturn.minPort=70000"], []),
    (["global.domain=", "synapse.registration_shared_secret="], []),
    (["element.settingDefaults.breadcrumbs=false"], ["synapse.serverNotices.roomTopic=multi\nline"]),
]


def encode(set_flags, set_string_flags):
    front = []
    lengths = []  # in consumption order

    def flag(text):
        data = text.encode()
        front.append(1)  # another element
        front.extend([0, 0, 0, 0])  # Flag::Raw (discriminant 0)
        lengths.append((len(front), len(data)))
        front.extend(data)

    for text in set_flags:
        flag(text)
    front.append(0)  # end of `set`
    for text in set_string_flags:
        flag(text)
    # `set_string` is the last field: taken until the data runs out.
    total = len(front) + len(lengths)
    assert total <= 256, "seed too long for one-byte lengths"
    end = []
    for k, (consumed_front, n) in enumerate(lengths):
        remaining = total - consumed_front - k
        assert n < remaining
        end.append(n)
    return bytes(front + end[::-1])


def main():
    out = pathlib.Path(__file__).resolve().parent.parent / "seeds" / "set_flags"
    out.mkdir(parents=True, exist_ok=True)
    for set_flags, set_string_flags in SEEDS:
        data = encode(set_flags, set_string_flags)
        name = hashlib.sha1(data).hexdigest()
        (out / name).write_bytes(data)
        print(name, set_flags, set_string_flags)


if __name__ == "__main__":
    main()
