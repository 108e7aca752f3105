"""The report as JUnit XML, so CI shows one test per check and its failure detail."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def junit_tree(report: Mapping[str, Any]) -> ET.ElementTree:
    """<testsuites><testsuite name=PLAYBOOK> with one <testcase> per check, <failure> when it did not hold."""
    checks = report["checks"]
    failures = sum(not check["ok"] for check in checks)
    suites = ET.Element("testsuites", tests=str(len(checks)), failures=str(failures))
    suite = ET.SubElement(
        suites, "testsuite",
        name=str(report["playbook"]), tests=str(len(checks)), failures=str(failures), errors="0", skipped="0",
        time=f"{report.get('duration_s') or 0:.3f}",
    )
    properties = ET.SubElement(suite, "properties")
    # The verdict matters on its own: an interrupted run's checks judged partial evidence.
    for name in ("seed", "verdict", "truncated_lines"):
        ET.SubElement(properties, "property", name=name, value=str(report.get(name)))
    classname = f"dnslab.{report['playbook']}"
    for check in checks:
        case = ET.SubElement(suite, "testcase", name=check["name"], classname=classname, time="0")
        if not check["ok"]:
            failure = ET.SubElement(case, "failure", message=check["detail"], type="CheckFailed")
            failure.text = check["detail"]
    ET.indent(suites)
    return ET.ElementTree(suites)


def write_junit(report: Mapping[str, Any], path: str | Path) -> None:
    """Write the report's checks as JUnit XML to PATH."""
    junit_tree(report).write(path, encoding="utf-8", xml_declaration=True)
