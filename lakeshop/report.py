"""The run report of a dbt build: what ran, what failed, quarantine per rule, freshness.

The report reads dbt's own artefacts (target/run_results.json, target/manifest.json) and
asks the warehouse, through `dbt show` and `dbt source freshness`, for what they lack: rows
quarantined per rule and how fresh each source is. Everything goes through dbt, so the
report works on every target the profile has.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ingestion import config
from lakeshop.dbt_runner import capture_dbt, dbt_target, target_dir

# Failing tests whose rows are sampled (one `dbt show` each), and rows per sample.
SAMPLED_FAILURES = 3
SAMPLE_ROWS = 5


@dataclass
class TestFailure:
    unique_id: str
    test: str
    model: str
    column: str | None
    severity: str
    status: str
    failures: int | None
    message: str
    sample: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_error(self) -> bool:
        return self.status == "error" or (self.status == "fail" and self.severity == "error")


@dataclass
class Freshness:
    source: str
    status: str
    max_loaded_at: str | None
    age_hours: float | None


WHOLE_PROJECT = "the whole project"


@dataclass
class RunReport:
    target: str
    invocation_id: str
    generated_at: str
    elapsed_seconds: float
    dbt_exit_code: int
    models: dict[str, int]
    seeds: dict[str, int]
    tests: dict[str, int]
    unit_tests: dict[str, int]
    failures: list[TestFailure]
    quarantine: dict[str, int]
    previous_quarantine: dict[str, int] | None
    freshness: list[Freshness]
    notes: list[str] = field(default_factory=list)
    # False when dbt stopped before writing its results: nothing to compare the next run with
    complete: bool = True
    # shop products and how many matched the API catalogue (by sku, by id); None when the
    # build did not build silver products
    api_match: dict[str, int] | None = None
    # what the invocation covered: WHOLE_PROJECT for a `dbt build` of every node, else the
    # command and its selection ("build --select tag:mysql", "test"): such a run's counts
    # are not the project's
    scope: str = WHOLE_PROJECT
    # '<entity>: <rule>' -> findings this run made first (quarantine_history and
    # api_quarantine_history: a record version breaking a rule for the first time); None
    # when the run built neither history
    new_findings: dict[str, int] | None = None

    @property
    def whole(self) -> bool:
        return self.scope == WHOLE_PROJECT

    @property
    def api_match_line(self) -> str | None:
        m = self.api_match
        if not m:
            return None
        total, by_sku, by_id = m["products"], m["by_sku"], m["by_id"]
        rate = f"{(by_sku + by_id) / total:.1%}" if total else "-"
        return (
            f"{by_sku + by_id:,} of {total:,} shop products found in the API catalogue "
            f"({rate}: {by_sku:,} by SKU, {by_id:,} by id)"
        )

    @property
    def failed(self) -> bool:
        return self.dbt_exit_code != 0 or any(f.is_error for f in self.failures)

    @property
    def warned(self) -> bool:
        return bool(
            self.tests.get("warn")
            or any(f.status in ("warn", "error", "runtime error") for f in self.freshness)
        )

    @property
    def quarantine_grew(self) -> bool:
        """New quarantine findings: a record version that broke a rule for the first time
        (entities with a quarantine history), or more rows under a rule than the last run
        that counted that rule (event entities, whose rows are each a new event). Not a
        comparison with whatever ran last: alternating runs of different sources compared
        counts that one of them had not built, and fired on every run."""
        if self.new_findings:
            return True
        if self.previous_quarantine is None:
            return False
        tracked = {k.split(":")[0] for k in self.new_findings or {}} | HISTORY_ENTITIES
        return any(
            n > self.previous_quarantine.get(k, 0)
            for k, n in self.quarantine.items()
            if k.split(":")[0] not in tracked and k in self.previous_quarantine
        )

    @property
    def status(self) -> str:
        """failed, warning or passed: what the headline, the alert icon and SNS attribute say."""
        return "failed" if self.failed else ("warning" if self.warned else "passed")

    @property
    def headline(self) -> str:
        state = {"failed": "FAILED", "warning": "passed with warnings", "passed": "passed"}
        return f"lakeshop dbt build on {self.target} {state[self.status]}"

    def previous(self, key: str) -> int | None:
        """Rows the last complete run on this target had under a quarantine rule; None when
        there was no such run."""
        if self.previous_quarantine is None:
            return None
        return self.previous_quarantine.get(key, 0)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# -- reading dbt's artefacts ------------------------------------------------------------------
def _counts(results: list[dict[str, Any]], kind: str) -> dict[str, int]:
    return dict(Counter(r["status"] for r in results if r["unique_id"].split(".")[0] == kind))


def _tested_model(node: dict[str, Any], nodes: dict[str, Any]) -> str:
    attached = node.get("attached_node") or next(
        (n for n in node.get("depends_on", {}).get("nodes", []) if n.startswith("model.")), None
    )
    if attached and attached in nodes:
        return str(nodes[attached]["name"])
    sources = [n for n in node.get("depends_on", {}).get("nodes", []) if n.startswith("source.")]
    return sources[0].split(".", 2)[-1] if sources else "(no model)"


def read_results() -> tuple[dict[str, Any], dict[str, Any]]:
    target = target_dir()
    results_file, manifest_file = target / "run_results.json", target / "manifest.json"
    if not results_file.exists() or not manifest_file.exists():
        raise RuntimeError(
            f"dbt wrote no {results_file.name} or {manifest_file.name} in {target}: the build "
            "stopped before running anything (see dbt's output above)"
        )
    return json.loads(results_file.read_text()), json.loads(manifest_file.read_text())


def test_failures(results: list[dict[str, Any]], manifest: dict[str, Any]) -> list[TestFailure]:
    nodes = manifest["nodes"]
    found = []
    for result in results:
        uid = result["unique_id"]
        if not uid.startswith(("test.", "unit_test.")) or result["status"] in ("pass", "skipped"):
            continue
        node = nodes.get(uid) or manifest.get("unit_tests", {}).get(uid) or {}
        severity = str(node.get("config", {}).get("severity", "error")).lower()
        model = (
            str(node.get("model", "(no model)"))
            if uid.startswith("unit_test.")
            else _tested_model(node, nodes)
        )
        found.append(
            TestFailure(
                unique_id=uid,
                test=str(node.get("name", uid)),
                model=model,
                column=node.get("column_name"),
                severity=severity,
                status=result["status"],
                failures=result.get("failures"),
                message=(result.get("message") or "").strip(),
            )
        )
    return found


# -- asking the warehouse through dbt ---------------------------------------------------------
def dbt_show(sql: str, limit: int, target: str | None) -> list[dict[str, Any]]:
    """Rows of a query, through `dbt show --inline` (any adapter; Jinja such as ref() works)."""
    args = ["show", "--inline", sql, "--output", "json", "--quiet", "--limit", str(limit)]
    done = capture_dbt(args, target)
    start = done.stdout.find("{")
    if done.returncode != 0 or start < 0:
        raise RuntimeError(
            f"dbt show failed (exit {done.returncode}): {(done.stdout + done.stderr)[-600:]}"
        )
    return list(json.loads(done.stdout[start:])["show"])


def quarantine_models(manifest: dict[str, Any]) -> dict[str, str]:
    """entity -> quarantine model name, for every model under models/silver/quarantine/ that
    ends in _quarantine (the history model is not one)."""
    found = {}
    for node in manifest["nodes"].values():
        path = str(node.get("original_file_path", ""))
        name = str(node.get("name", ""))
        is_model = node.get("resource_type") == "model"
        if is_model and "/quarantine/" in path and name.endswith("_quarantine"):
            found[name.removesuffix("_quarantine")] = name
    return dict(sorted(found.items()))


def quarantine_counts(
    manifest: dict[str, Any], target: str | None, built: set[str] | None = None
) -> dict[str, int]:
    """'<entity>: <rule>' -> rows quarantined now, from the quarantine models (those this
    build built, when ``built`` is given: a build of one source's models counts its own)."""
    models = {e: m for e, m in quarantine_models(manifest).items() if built is None or m in built}
    if not models:
        return {}
    sql = "\nunion all\n".join(
        f"select '{entity}' as entity, quarantine_reason, count(*) as row_count "
        f"from {{{{ ref('{model}') }}}} group by quarantine_reason"
        for entity, model in models.items()
    )
    rows = dbt_show(sql, limit=10_000, target=target)
    return {
        f"{row['entity']}: {row['quarantine_reason']}": int(row["row_count"])
        for row in sorted(rows, key=lambda r: (r["entity"], r["quarantine_reason"]))
    }


# entities whose findings are kept in a history with the run that first made them
HISTORY_MODELS = {"quarantine_history", "api_quarantine_history"}
HISTORY_ENTITIES = {"orders", "order_items", "api_products", "carts", "api_users"}


def new_findings(invocation_id: str, target: str | None, built: set[str]) -> dict[str, int] | None:
    """'<entity>: <rule>' -> findings the invocation made first, from the quarantine histories
    it built (None when it built neither)."""
    histories = sorted(HISTORY_MODELS & built)
    if not histories:
        return None
    sql = "\nunion all\n".join(
        f"select entity, quarantine_reason, count(*) as row_count from {{{{ ref('{model}') }}}} "
        f"where detected_in_invocation_id = '{invocation_id}' group by entity, quarantine_reason"
        for model in histories
    )
    rows = dbt_show(sql, limit=10_000, target=target)
    return {
        f"{row['entity']}: {row['quarantine_reason']}": int(row["row_count"])
        for row in sorted(rows, key=lambda r: (r["entity"], r["quarantine_reason"]))
    }


def api_match_counts(target: str | None) -> dict[str, int]:
    """Shop products, and how many silver matched to the API catalogue by SKU and by id."""
    rows = dbt_show(
        "select count(*) as products, "
        "sum(case when api_match = 'sku' then 1 else 0 end) as by_sku, "
        "sum(case when api_match = 'id' then 1 else 0 end) as by_id "
        "from {{ ref('products') }}",
        limit=1,
        target=target,
    )
    return {k: int(rows[0][k] or 0) for k in ("products", "by_sku", "by_id")}


def sources_read(manifest: dict[str, Any], built_ids: set[str]) -> list[str]:
    """The sources the built nodes read, as `source:<source>.<table>` selectors."""
    parents = manifest.get("parent_map", {})
    found = {p for uid in built_ids for p in parents.get(uid, []) if p.startswith("source.")}
    return sorted("source:" + ".".join(uid.split(".")[2:]) for uid in found)


def source_freshness(target: str | None, select: list[str] | None = None) -> list[Freshness]:
    """`dbt source freshness` into target/sources.json (its exit code says only that some
    source is stale; the report lists which), for the sources ``select`` names (all when
    None): a build of one source's models asks only about its own."""
    out = target_dir() / "sources.json"
    out.unlink(missing_ok=True)
    args = ["source", "freshness", "--output", str(out), "--quiet"]
    if select:
        args += ["--select", *select]
    capture_dbt(args, target)
    if not out.exists():
        return [Freshness("(all sources)", "runtime error", None, None)]
    found = []
    for result in json.loads(out.read_text())["results"]:
        age = result.get("max_loaded_at_time_ago_in_s")
        found.append(
            Freshness(
                source=result["unique_id"].split(".", 2)[-1],
                status=result["status"],
                max_loaded_at=result.get("max_loaded_at"),
                age_hours=round(age / 3600, 1) if age is not None else None,
            )
        )
    return sorted(found, key=lambda f: f.source)


# -- state between runs -----------------------------------------------------------------------
def reports_dir() -> Path:
    return config.home() / "reports"


def _state_file(target: str) -> Path:
    return reports_dir() / f"last_run.{target}.json"


def previous_quarantine(target: str) -> dict[str, int] | None:
    state = _state_file(target)
    if not state.exists():
        return None
    return dict(json.loads(state.read_text()).get("quarantine", {}))


# -- rendering --------------------------------------------------------------------------------
def _status_counts(counts: dict[str, int]) -> str:
    order = ["success", "pass", "warn", "fail", "error", "skipped", "no-op"]
    keys = sorted(counts, key=lambda k: order.index(k) if k in order else len(order))
    return ", ".join(f"{counts[k]} {k}" for k in keys) or "none"


def change_label(now: int, before: int | None) -> str:
    """A count's change since the last run: new, -, =, +N or -N."""
    if before is None:
        return "new" if now else "-"
    delta = now - before
    return f"{delta:+d}" if delta else "="


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def render_markdown(report: RunReport) -> str:
    lines = [f"# {report.headline}", ""]
    lines.append(
        f"{report.generated_at} · invocation `{report.invocation_id}` · "
        f"{report.elapsed_seconds:.1f} s · dbt exit code {report.dbt_exit_code}"
    )
    lines += [
        "",
        f"- scope: {report.scope}",
        f"- models: {_status_counts(report.models)}",
        f"- seeds: {_status_counts(report.seeds)}",
        f"- data tests: {_status_counts(report.tests)}",
        f"- unit tests: {_status_counts(report.unit_tests)}",
    ]
    for note in report.notes:
        lines.append(f"- note: {note}")
    if report.failures:
        lines += ["", "## Tests that did not pass", ""]
        for failure in report.failures:
            column = f", column `{failure.column}`" if failure.column else ""
            count = f"{failure.failures} failing rows" if failure.failures is not None else ""
            lines.append(
                f"- **{failure.status.upper()}** ({failure.severity}) `{failure.test}` on model "
                f"`{failure.model}`{column}: {count or failure.message}"
            )
            if failure.sample:
                columns = list(failure.sample[0])
                rows = [[str(row.get(c)) for c in columns] for row in failure.sample]
                lines += ["", *["  " + line for line in _table(columns, rows)], ""]
    lines += ["", "## Rows in quarantine, per rule", ""]
    if report.quarantine or report.previous_quarantine:
        keys = sorted(set(report.quarantine) | set(report.previous_quarantine or {}))
        rows = [
            [
                key,
                f"{report.quarantine.get(key, 0):,}",
                change_label(report.quarantine.get(key, 0), report.previous(key)),
            ]
            for key in keys
        ]
        lines += _table(["entity: rule", "rows", "since last run"], rows)
    else:
        lines.append("Nothing in quarantine.")
    if report.api_match_line:
        lines += ["", "## API catalogue match", "", report.api_match_line]
    lines += ["", "## Source freshness", ""]
    rows = [
        [
            f.source,
            f.status,
            f.max_loaded_at or "-",
            "-" if f.age_hours is None else f"{f.age_hours}",
        ]
        for f in report.freshness
    ]
    lines += _table(["source", "status", "latest load", "age (hours)"], rows)
    return "\n".join(lines) + "\n"


def render_terminal(report: RunReport) -> str:
    lines = [report.headline, "=" * len(report.headline)]
    if not report.whole:
        lines.append(f"scope       {report.scope}")
    lines.append(f"models      {_status_counts(report.models)}")
    lines.append(f"data tests  {_status_counts(report.tests)}")
    lines.append(f"unit tests  {_status_counts(report.unit_tests)}")
    for note in report.notes:
        lines.append(f"note        {note}")
    for failure in report.failures:
        column = f".{failure.column}" if failure.column else ""
        lines.append(
            f"{failure.status.upper():<5} {failure.severity:<5} {failure.model}{column}: {failure.test}"
            + (f" ({failure.failures} rows)" if failure.failures is not None else "")
        )
        for row in failure.sample:
            lines.append("        " + ", ".join(f"{k}={v}" for k, v in row.items()))
    total = sum(report.quarantine.values())
    before = (
        None if report.previous_quarantine is None else sum(report.previous_quarantine.values())
    )
    lines.append(f"quarantine  {total:,} rows ({change_label(total, before)} since last run)")
    for key, n in report.quarantine.items():
        lines.append(f"  {key:<36} {n:>8,}  {change_label(n, report.previous(key))}")
    if report.api_match_line:
        lines.append(f"api match   {report.api_match_line}")
    stale = [f for f in report.freshness if f.status != "pass"]
    lines.append(
        f"freshness   {len(report.freshness) - len(stale)} of {len(report.freshness)} sources fresh"
    )
    for f in stale:
        lines.append(f"  {f.status:<6} {f.source} (latest load {f.max_loaded_at or 'never'})")
    return "\n".join(lines)


# -- the command ------------------------------------------------------------------------------
def build_report(dbt_exit_code: int, target: str | None) -> RunReport:
    target_name = target or dbt_target()
    generated_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    try:
        run_results, manifest = read_results()
    except RuntimeError as exc:
        # still a report (and an alert): the build failed before it ran anything
        return RunReport(
            target=target_name,
            invocation_id="(none)",
            generated_at=generated_at,
            elapsed_seconds=0.0,
            dbt_exit_code=dbt_exit_code,
            models={},
            seeds={},
            tests={},
            unit_tests={},
            failures=[],
            quarantine={},
            previous_quarantine=None,
            freshness=[],
            notes=[str(exc)],
            complete=False,
        )
    results = run_results["results"]
    by_id = {r["unique_id"]: r for r in results}
    failures = test_failures(results, manifest)
    notes = []
    # dbt show and dbt source freshness rewrite run_results.json: it was read first (above).
    for failure in [f for f in failures if f.status == "fail"][:SAMPLED_FAILURES]:
        compiled = by_id[failure.unique_id].get("compiled_code")
        if compiled:
            try:
                failure.sample = dbt_show(compiled, SAMPLE_ROWS, target)
            except RuntimeError as exc:
                notes.append(f"no sample rows for {failure.test}: {exc}")
    built = {r["unique_id"].split(".")[-1] for r in results if r["status"] == "success"}
    try:
        quarantine = quarantine_counts(manifest, target, built)
    except RuntimeError as exc:
        quarantine = {}
        notes.append(f"quarantine counts unavailable: {exc}")
    found = None
    try:
        found = new_findings(run_results["metadata"]["invocation_id"], target, built)
    except RuntimeError as exc:
        notes.append(f"new quarantine findings unavailable: {exc}")
    api_match = None
    if "products" in built:
        try:
            api_match = api_match_counts(target)
        except RuntimeError as exc:
            notes.append(f"API catalogue match unavailable: {exc}")
    return RunReport(
        target=target_name,
        invocation_id=run_results["metadata"]["invocation_id"],
        generated_at=generated_at,
        elapsed_seconds=float(run_results.get("elapsed_time", 0.0)),
        dbt_exit_code=dbt_exit_code,
        models=_counts(results, "model"),
        seeds=_counts(results, "seed"),
        tests=_counts(results, "test"),
        unit_tests=_counts(results, "unit_test"),
        failures=failures,
        quarantine=quarantine,
        previous_quarantine=previous_quarantine(target_name),
        freshness=source_freshness(
            target, sources_read(manifest, {r["unique_id"] for r in results}) or None
        ),
        notes=notes,
        api_match=api_match,
        scope=scope_of(run_results.get("args", {})),
        new_findings=found,
    )


def scope_of(args: dict[str, Any]) -> str:
    """What a dbt invocation covered, from run_results.json's args."""
    which = str(args.get("which") or "build")
    chosen = [f"--select {' '.join(args['select'])}" if args.get("select") else "",
              f"--exclude {' '.join(args['exclude'])}" if args.get("exclude") else "",
              f"--selector {args['selector']}" if args.get("selector") else ""]  # fmt: skip
    chosen = [c for c in chosen if c]
    if which == "build" and not chosen:
        return WHOLE_PROJECT
    return " ".join([which, *chosen])


def save_report(report: RunReport) -> Path:
    folder = reports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    markdown = render_markdown(report)
    path = folder / f"run_report_{report.target}_{stamp}.md"
    path.write_text(markdown)
    (folder / "latest.md").write_text(markdown)
    (folder / "latest.json").write_text(json.dumps(report.to_json(), indent=2, default=str))
    if report.complete and report.whole:
        # what the Data quality page shows: the last build of every node, not a selection
        (folder / "latest_build.json").write_text(
            json.dumps(report.to_json(), indent=2, default=str)
        )
    # The next run compares each rule's count with the last run that counted it (not with a
    # build that never ran, nor with a run of another source's models that did not count it).
    if report.complete:
        counted = {**(previous_quarantine(report.target) or {}), **report.quarantine}
        _state_file(report.target).write_text(
            json.dumps({"invocation_id": report.invocation_id, "quarantine": counted})
        )
    return path
