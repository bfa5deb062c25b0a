#!/usr/bin/env python3
# Rewrites the key table of docs/config.md from proxy/config/keys.def and limits.def (a unit test
# holds the page to those tables; run this after adding a key).
import pathlib
import re

root = pathlib.Path(__file__).resolve().parent.parent
section_paths = {'root': '', 'listen': 'listen', 'state': 'state', 'bind_failures': 'limits.bind_failures',
                 'upstream': 'upstreams.NAME', 'message_id': 'upstreams.NAME.message_id', 'routes': 'routes',
                 'account': 'accounts.NAME', 'audit': 'audit', 'text': 'text', 'log': 'log', 'admin': 'admin',
                 'tls': 'tls', 'tls_client': 'accounts.NAME.tls_client', 'review': 'review', 'billing': 'billing',
                 'volume': 'accounts.NAME.volume'}


def c_number(expr):
    # limits.def writes defaults as C expressions of literals: 3 * 24 * 3600, 1 << 20
    if not re.fullmatch(r'[0-9 *<+()-]+', expr):
        raise SystemExit(f'config-doc: cannot read the number {expr!r}')
    return int(eval(expr))


rows = []
for line in (root / 'proxy/config/keys.def').read_text().splitlines():
    m = re.fullmatch(r'X\((\w+), (\w+), (\w+), "(.*?)", "(.*?)", "(.*)"\)', line.strip())
    if m:
        section, key, applies, type_, default, help_ = m.groups()
        prefix = section_paths[section]
        rows.append(f'| `{prefix + "." if prefix else ""}{key}` | {applies} | {type_} | {default} | {help_} |')
for line in (root / 'proxy/config/limits.def').read_text().splitlines():
    m = re.fullmatch(r'X\((\w+), (\w+), (.*?), (.*?), (.*?), "(.*)"\)', line.strip())
    if m:
        name, _, default, low, high, help_ = m.groups()
        rows.append(f'| `limits.{name}` | restart | whole number | {c_number(default)} | '
                    f'{c_number(low)} to {c_number(high)}: {help_} |')

doc_path = root / 'docs/config.md'
doc = doc_path.read_text()
start = doc.index('| key |')
end = doc.index('\n\n', start) if '\n\n' in doc[start:] else len(doc.rstrip('\n'))
table = '| key | applies | type | default | takes |\n|---|---|---|---|---|\n' + '\n'.join(rows)
doc_path.write_text(doc[:start] + table + doc[end:] + ('' if '\n\n' in doc[start:] else '\n'))
