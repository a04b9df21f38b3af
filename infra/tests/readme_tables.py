"""The Inputs and Outputs tables of the module READMEs, made from variables.tf and outputs.tf
(terraform-docs' layout; terraform-docs itself is not installable from the package registries).

  python3 infra/tests/readme_tables.py          # check: fails naming each README out of date
  python3 infra/tests/readme_tables.py --write  # rewrite the tables

Each README holds the tables between <!-- BEGIN_TF_DOCS --> and <!-- END_TF_DOCS -->.
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
DIRS = [ROOT, ROOT / "bootstrap"] + sorted(p for p in (ROOT / "modules").iterdir() if p.is_dir())
BEGIN, END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"


def blocks(text, kind):
    """(name, body) of each top-level `kind "name" {` block, by brace counting."""
    for m in re.finditer(r'^%s "([^"]+)" \{\n' % kind, text, re.M):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        yield m.group(1), text[m.end():i - 1]


def attr(body, name):
    """A top-level attribute's value as written: a string, a heredoc or the first line."""
    m = re.search(r'^  %s\s*=\s*(.*)$' % name, body, re.M)
    if not m:
        return None
    value = m.group(1).strip()
    heredoc = re.match(r"<<-?(\w+)$", value)
    if heredoc:
        rest = body[m.end():]
        end = re.search(r"^\s*%s\s*$" % heredoc.group(1), rest, re.M)
        return " ".join(line.strip() for line in rest[:end.start()].splitlines() if line.strip())
    if value.startswith('"') and value.endswith('"'):
        return value[1:-1].replace('\\"', '"')
    if value.endswith(("{", "(", "[")) and not value.endswith(("{}", "[]")):
        # A multi-line type or value: its head, e.g. map(object).
        head = value.rstrip("{([ ")
        return head + ")" * (head.count("(") - head.count(")")) if head else "(multi-line)"
    return value


def cell(text):
    return (text or "").replace("|", "\\|").replace("\n", " ")


def tables(directory):
    variables = "".join(p.read_text() for p in sorted(directory.glob("*.tf")) if "variable \"" in p.read_text())
    outputs = "".join(p.read_text() for p in sorted(directory.glob("*.tf")) if "output \"" in p.read_text())
    rows = ["## Inputs", "", "| Name | Description | Type | Default | Required |", "| --- | --- | --- | --- | :---: |"]
    for name, body in sorted(blocks(variables, "variable")):
        default = attr(body, "default")
        rows.append(f"| `{name}` | {cell(attr(body, 'description'))} | `{cell(attr(body, 'type'))}` | "
                    f"{'`' + cell(default) + '`' if default is not None else 'n/a'} | {'no' if default is not None else 'yes'} |")
    rows += ["", "## Outputs", "", "| Name | Description |", "| --- | --- |"]
    for name, body in sorted(blocks(outputs, "output")):
        rows.append(f"| `{name}` | {cell(attr(body, 'description'))} |")
    return "\n".join(rows)


stale = []
for d in DIRS:
    readme = d / "README.md"
    text = readme.read_text()
    if BEGIN not in text:
        text = text.rstrip() + f"\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n{tables(d)}\n{END}{tail}"
    if new != readme.read_text():
        if "--write" in sys.argv:
            readme.write_text(new)
            print(f"wrote {readme.relative_to(ROOT.parent)}")
        else:
            stale.append(str(readme.relative_to(ROOT.parent)))
if stale:
    print("README inputs/outputs out of date (python3 infra/tests/readme_tables.py --write): " + ", ".join(stale), file=sys.stderr)
    sys.exit(1)
print(f"README inputs/outputs tables up to date ({len(DIRS)} READMEs)")
