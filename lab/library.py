"""The incident library: playbooks that replay a real outage carry a `library:` header, which says what
happened and how to switch the mitigation on.

    library:
      incident: Facebook
      date: 2021-10-04
      mechanism: every authoritative server of the zone unreachable for longer than the TTL
      symptom: timeouts, then SERVFAIL as cached answers expire
      mitigation: serve-stale (RFC 8767) on the resolvers
      mitigated: [topology.overrides.options.resolver.serve_stale=true]    # --set options of the variant

Pure: validation (called by lab.playbook.document for the `library:` section) and the index `dnslab list`
prints and `dnslab matrix` runs. A library playbook run as written shows the symptom (exit 1); run with
its `mitigated` --set options it passes (exit 0).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab import bundle
from lab.validation import Problems, check_keys, get
from lab.yamlsrc import Map, Seq, YamlSyntaxError, load as load_yaml

FIELDS = ("incident", "date", "mechanism", "symptom", "mitigation", "mitigated")
TEXT_FIELDS = ("incident", "mechanism", "symptom", "mitigation")
PLAYBOOKS = bundle.PLAYBOOKS


@dataclass(frozen=True)
class Entry:
    file: str
    name: str
    incident: str
    date: str
    mechanism: str
    symptom: str
    mitigation: str
    mitigated: tuple[str, ...]  # --set options that switch the mitigation on

    @property
    def year(self) -> str:
        return self.date[:4]


def validate(problems: Problems, value: Any) -> dict:
    """The `library:` section as plain data; problems with their place."""
    if not isinstance(value, Map):
        problems.at(value, "`library:` must be a mapping with " + ", ".join(FIELDS))
        return {}
    check_keys(problems, value, FIELDS, "library", required=FIELDS)
    found = {key: get(problems, value, key, str, "library", "") for key in TEXT_FIELDS}
    date = value.get("date")
    if isinstance(date, datetime.date):  # YAML reads 2021-10-04 as a date
        date = date.isoformat()
    if not isinstance(date, str) or not _is_date(date):
        problems.at(value, f"library date must be a day like 2021-10-04, not {date!r}", "date", value=True)
        date = ""
    found["date"] = date
    mitigated = get(problems, value, "mitigated", list, "library", Seq())
    for index, option in enumerate(mitigated):
        if not isinstance(option, str) or "=" not in option:
            problems.at(mitigated, f"library mitigated: {option!r} must be a --set option KEY=VALUE", index)
    if "mitigated" in value and isinstance(mitigated, list) and not mitigated:
        problems.at(value, "library mitigated is empty: give the --set options that switch the mitigation on",
                    "mitigated", value=True)
    found["mitigated"] = [str(o) for o in mitigated]
    return found


def _is_date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text)
        return True
    except ValueError:
        return False


def entries(directory: str | Path = PLAYBOOKS) -> list[Entry]:
    """Every playbook of `directory` with a valid `library:` header, by date. Files without one (scenarios,
    the soak) are not incidents; a broken header is left to `dnslab validate` and skipped here."""
    found = []
    for path in sorted(Path(directory).glob("*.yml")):
        try:
            doc = load_yaml(path)
        except YamlSyntaxError:
            continue
        if not isinstance(doc, Map) or "library" not in doc:
            continue
        problems = Problems(str(path))
        section = validate(problems, doc["library"])
        if problems:
            continue
        found.append(Entry(str(path), str(doc.get("name") or path.stem), section["incident"], section["date"],
                           section["mechanism"], section["symptom"], section["mitigation"],
                           tuple(section["mitigated"])))
    return sorted(found, key=lambda e: (e.date, e.name))


def find(name: str, directory: str | Path = PLAYBOOKS) -> Entry | None:
    """A library entry by playbook name or file name."""
    return next((e for e in entries(directory) if name in (e.name, Path(e.file).name, Path(e.file).stem)), None)
