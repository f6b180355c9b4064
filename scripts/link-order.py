#!/usr/bin/env python3
"""Writes the link order of the release build from callgrind profiles (scripts/make-link-order.sh runs it).

    link-order.py MAP BINARY ORDER_OUT SCRIPT_OUT RUN...

Each RUN is the output file of one callgrind run dumped in three parts: RUN.1 (the start), RUN.2 (tool calls)
and RUN (the rest). Functions are placed calls first, then start, then the rest. Named functions go to
ORDER_OUT (lld's --symbol-ordering-file). Functions without a symbol (Swift's private closure destructors
`.Lobjectdestroy…`, `.L__unnamed_…`), which callgrind names by address, cannot be ordered by name: their input
sections, found in the link MAP of BINARY, go to SCRIPT_OUT, a linker script that places them at the start of
the code.
"""
import bisect
import re
import subprocess
import sys

map_path, binary, order_out, script_out, *runs = sys.argv[1:]

# Input sections of the output section .text: (address, size, "file:(section)", has a symbol).
sections = []
output = None
line_re = re.compile(r"\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+ (.*)$")
with open(map_path) as link_map:
    for line in link_map:
        match = line_re.match(line)
        if not match:
            continue
        address, size, rest = match.groups()
        if not rest.startswith(" "):
            output = rest.strip()
        elif output != ".text":
            continue
        elif rest.startswith("               "):  # a symbol of the section above
            if sections:
                sections[-1][3] = True
        elif rest.startswith("       "):
            sections.append([int(address, 16), int(size, 16), rest.strip(), False])
sections.sort()
starts = [section[0] for section in sections]

defined = set()
nm = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
for line in nm.splitlines():
    parts = line.split()
    if len(parts) == 3 and parts[1] in "tTwW":
        defined.add(parts[2])

fn_re = re.compile(r"^c?fn=\((\d+)\)(?: (.*))?$")
position_re = re.compile(r"^(0x[0-9a-f]+|[+-]\d+|\*)\s")


def profile(path, names_by_id):
    """The function names of one callgrind dump (`--dump-instr=yes`) in first-seen order, and the addresses of
    the instructions it ran. Callgrind names a function in full once per run and by number after that, in later
    dumps too, so `names_by_id` carries over from the run's earlier dumps."""
    names, addresses = [], []
    address = 0
    with open(path, errors="replace") as dump:
        for line in dump:
            match = fn_re.match(line.rstrip("\n"))
            if match:
                number, name = match.groups()
                if name is not None:
                    names_by_id[number] = name
                if number in names_by_id:
                    names.append(re.sub(r"'\d+$", "", names_by_id[number]))  # callgrind marks recursion "'N"
                continue
            match = position_re.match(line)
            if match:
                token = match.group(1)
                if token.startswith("0x"):
                    address = int(token, 16)
                elif token != "*":
                    address += int(token)
                addresses.append(address)
    return names, addresses


phases = {"calls": ([], []), "start": ([], []), "rest": ([], [])}
for run in runs:
    names_by_id = {}
    for phase, path in (("start", run + ".1"), ("calls", run + ".2"), ("rest", run)):
        names, addresses = profile(path, names_by_id)
        phases[phase][0].extend(names)
        phases[phase][1].extend(addresses)

names, seen_names = [], set()
for phase in ("calls", "start", "rest"):
    for name in phases[phase][0]:
        if name in defined and name not in seen_names:
            seen_names.add(name)
            names.append(name)

# Functions without a symbol (callgrind names them by address, or counts them in with a neighbour): the input
# sections without a symbol that hold an instruction that ran.
unnamed, seen_sections = [], set()
for phase in ("calls", "start", "rest"):
    for address in phases[phase][1]:
        index = bisect.bisect_right(starts, address) - 1
        if index < 0 or address >= sections[index][0] + sections[index][1] or sections[index][3]:
            continue
        section = sections[index][2]
        if section not in seen_sections:
            seen_sections.add(section)
            unnamed.append(section)


def pattern(section):
    """`/…/Foo.build/Bar.swift.o:(.text.x)` → `*Foo.build/Bar.swift.o(.text.x)`; archive members as `*lib.a:m.o`.
    Spaces (which a bare linker script word cannot hold) match as `?`."""
    file, _, name = section.rpartition(":(")
    name = name[:-1]
    archive = re.match(r"^.*/([^/]+\.a)\((.+)\)$", file)
    if archive:
        file = "*" + archive.group(1) + ":" + archive.group(2)
    else:
        build = re.search(r"[^/]+\.build/[^/]+$", file)
        file = "*" + (build.group(0) if build else file.rsplit("/", 1)[-1])
    return (file + "(" + name + ")").replace(" ", "?")


with open(order_out, "w") as out:
    out.write("\n".join(names) + "\n")
with open(script_out, "w") as out:
    out.write("/* Generated by scripts/make-link-order.sh: the input sections of functions without a symbol that the\n")
    out.write("   proxy runs, placed before the rest of the code (build-release.sh passes it with -T). */\n")
    out.write("SECTIONS {\n  .text.unnamed : {\n")
    for section in unnamed:
        out.write("    " + pattern(section) + "\n")
    out.write("  }\n}\nINSERT BEFORE .text;\n")
print(f"{len(names)} functions in {order_out}, {len(unnamed)} unnamed sections in {script_out}")
