"""Stand-ins for the data files oss2's select tests read (tests/sample_data.csv, sample_json.json and the
rest), which its sdist does not ship. Made deterministically, with the columns and keys the tests name and
values their conditions find: rows of 2015, `14.8` with `%`, measures ending in `18 Years`, a John Kennedy,
a cspanid of 1011723. invalid_sample_data.csv is valid CSV up to a quoted field that never closes."""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
from pathlib import Path

_CSV_HEADER = [
    "Year",
    "StateAbbr",
    "CityName",
    "PopulationCount",
    "Measure",
    "Short_Question_Text",
    "Data_Value",
    "Data_Value_Unit",
    "Category",
    "High_Confidence_Limit",
]
_MEASURES = [
    ("High blood pressure among adults aged >=18 Years", "High Blood Pressure", "Health Outcomes"),
    ("Binge drinking among adults aged >=18 Years", "Binge Drinking", "Unhealthy Behaviors"),
    ("Current smoking among adults aged >=18 Years", "Current Smoking", "Unhealthy Behaviors"),
    (
        "Taking medicine for high blood pressure control among adults aged >=18 Years",
        "Taking BP Medication",
        "Prevention",
    ),
    ("Visits to doctor for routine checkup within the past Year", "Annual Checkup", "Prevention"),
]
_CITIES = ["Birmingham", "Mobile", "Phoenix", "Tucson", "", "Fresno", "Oakland", "Denver"]
_STATES = ["AL", "AZ", "CA", "CO", "US"]


def _csv_text(rnd: random.Random, rows: int) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(_CSV_HEADER)
    for i in range(rows):
        measure, short, category = _MEASURES[i % len(_MEASURES)]
        value = "14.8" if i % 17 == 0 else ("" if i % 13 == 0 else f"{rnd.uniform(5, 80):.1f}")
        high = "" if not value else f"{float(value) + rnd.uniform(0, 5):.1f}"
        w.writerow(
            [
                str(2014 + i % 3),
                _STATES[i % len(_STATES)],
                _CITIES[i % len(_CITIES)],
                str(rnd.randint(1000, 900000)),
                measure,
                short,
                value,
                "%" if i % 4 else "per 100000",
                category,
                high,
            ]
        )
    return out.getvalue()


def _senators(rnd: random.Random, count: int) -> list[dict[str, object]]:
    first = ["John", "Mary", "Robert", "Linda", "James", "Susan", "Michael", "Karen"]
    last = ["Kennedy", "Smith", "Jones", "Brown", "Miller", "Davis", "Wilson", "Moore"]
    out: list[dict[str, object]] = []
    for i in range(count):
        cspanid = 1011723 if i == 5 else 1000000 + i * 37
        out.append(
            {
                "caucus": None,
                "congress_numbers": [113 + i % 3, 114 + i % 3],
                "current": True,
                "extra": {"address": f"{100 + i} Senate Building", "office": f"SR-{i}"},
                "party": ["Democrat", "Republican", "Independent"][i % 3],
                "person": {
                    "bioguideid": f"S{i:06d}",
                    "birthday": f"19{40 + i % 30}-0{1 + i % 9}-1{i % 10}",
                    "cspanid": cspanid,
                    "firstname": first[i % len(first)],
                    "gender": "male" if i % 2 else "female",
                    "lastname": last[(i // 2) % len(last)] if i != 8 else "Kennedy",
                },
                "senator_rank": "junior" if i % 2 else "senior",
                "startdate": f"20{10 + i % 10}-01-03",
                "state": ["CA", "NY", "TX", "MA"][i % 4],
                "weight": round(rnd.uniform(0, 1), 6),
            }
        )
    return out


def write_select_samples(tests_dir: Path) -> None:
    rnd = random.Random(20261205)
    data = _csv_text(rnd, 400)
    (tests_dir / "sample_data.csv").write_text(data, encoding="utf-8")
    (tests_dir / "sample_data.csv.gz").write_bytes(gzip.compress(data.encode(), mtime=0))
    invalid = _csv_text(rnd, 50) + '2015,AL,"never closed\n'
    (tests_dir / "invalid_sample_data.csv").write_text(invalid, encoding="utf-8")
    senators = _senators(rnd, 100)
    doc = json.dumps({"meta": {"total_count": len(senators)}, "objects": senators})
    (tests_dir / "sample_json.json").write_text(doc, encoding="utf-8")
    (tests_dir / "sample_json.json.gz").write_bytes(gzip.compress(doc.encode(), mtime=0))
    lines = "".join(json.dumps(s) + "\n" for s in senators)
    (tests_dir / "sample_json_lines.json").write_text(lines, encoding="utf-8")
