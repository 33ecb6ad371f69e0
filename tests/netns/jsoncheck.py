#!/usr/bin/python3
"""jsoncheck.py SCHEMA COMMAND FILE: validates the `ovtunctl --json COMMAND`
answer in FILE (one JSON object, or one per line for a command that
streams) against doc/ovtunctl.schema.json, and against the rules that hold
for every key, listed in the schema or not: no string stands for a number
or for nothing. COMMAND "error" validates an error answer. Prints what is
wrong and exits 1; notes keys the schema does not list yet."""
import json
import re
import sys
import warnings

try:
    import jsonschema
except ImportError:
    print('SKIP: python3-jsonschema is missing (scripts/install-deps.sh)')
    sys.exit(77)

# RefResolver: deprecated in newer releases, the one way in Debian 12's.
warnings.simplefilter('ignore', DeprecationWarning)

# What a string must never be: a number, a quantity with its unit, or a
# word standing for nothing.
BAD = re.compile(r'^(|-|none|never|any|n/a|null|unknown|[0-9]+(\.[0-9]+)?(s|ms|us|%|[kKMG]i?B)?)$')


def walk(v, path, problems):
    if isinstance(v, dict):
        for k, x in v.items():
            walk(x, path + [k], problems)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            walk(x, path + [i], problems)
    elif isinstance(v, str) and BAD.match(v):
        problems.append('%s: string %r stands for a number or for nothing' %
                        ('.'.join(map(str, path)), v))


def listed_keys(node, out):
    """Every property name the schema lists anywhere."""
    if isinstance(node, dict):
        out.update(node.get('properties', {}))
        for x in node.values():
            listed_keys(x, out)
    elif isinstance(node, list):
        for x in node:
            listed_keys(x, out)


def keys_of(v, out):
    if isinstance(v, dict):
        for k, x in v.items():
            out.add(k)
            keys_of(x, out)
    elif isinstance(v, list):
        for x in v:
            keys_of(x, out)


def main():
    schema_path, command, path = sys.argv[1:4]
    schema = json.load(open(schema_path))
    defs = schema['definitions']
    text = open(path).read().strip()
    try:
        answers = [json.loads(text)]
    except ValueError:
        answers = [json.loads(line) for line in text.splitlines() if line]
    if not answers:
        sys.exit('%s: no answer' % command)
    name = command if command in defs else 'envelope'
    if name == 'envelope':
        print('NOTE: command %s has no schema of its own in %s yet' %
              (command, schema_path))
    listed = set()
    listed_keys(schema, listed)
    problems = []
    for a in answers:
        if not isinstance(a, dict):
            problems.append('the answer is not an object: %r' % (a,))
            continue
        resolver = jsonschema.RefResolver.from_schema(schema)
        v = jsonschema.Draft7Validator(defs[name], resolver=resolver)
        for e in v.iter_errors(a):
            problems.append('%s: %s' % ('.'.join(map(str, e.path)) or '(top)',
                                         e.message))
        walk(a, [], problems)
        seen = set()
        keys_of(a, seen)
        extra = sorted(k for k in seen - listed
                       if not (command == 'stats' and k in a.get('drops', {})))
        if extra:
            print('NOTE: %s: keys not in the schema yet: %s' %
                  (command, ' '.join(extra)))
    if problems:
        print('\n'.join('%s: %s' % (command, p) for p in problems))
        sys.exit(1)


main()
