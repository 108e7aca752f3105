"""Helpers kept in each node's network namespace, from `up` to `down`: the only containers with NET_ADMIN.

A fault that had to start a container first (create, start, wait, remove) landed 150-400 ms after its step
began. So `up` starts one helper per node, in the node's namespace on the node's engine (the node itself
keeps no capability), and a fault only sends it a request:

- every node gets one (any node can be the target of a network fault): an idle `sleep`, or, on nodes that
  can be the target of a dns-answer fault (authoritative servers and resolvers), a dnsdist listening on
  LISTEN_PORT with no rule and no redirect to it, so it changes nothing until a fault adds both;
- requests go over one exec per helper and process, kept open (lab.agents.nshelper, a loop on stdin): an nft
  ruleset or a dnsdist console command then costs a few milliseconds instead of an exec or a container.

The same loop also runs inside a node's own container (`inside`), with the node's own privileges and files,
for what an operator's shell on the node would do: a zone-data fault edits a static zone file there and
signals the server (lab.agents.zonefile). `ensure` opens it on every node that serves a zone from files,
with what those faults run there loaded (its first request would otherwise pay 0.3-0.6 s: an exec, a python,
dnspython's import).

A helper joined a namespace that dies with its node's process: after the node restarts, the helper would
act on a namespace nobody uses. Each helper is labelled with its target's start time; one whose target
started since is replaced before it is used (one inspect of the target per request).

When they start: a run starts every node's helper at its first wait, in the background (`warm`), and they
stay until `down`: the first run on a lab pays for them once, while it waits. `up` starts none (it
stays as quick as `docker compose up`), unless DNSLAB_HELPERS=up. A fault outside a run (`dnslab fault
add`) starts the helper it needs. Every helper carries the lab's labels plus dnslab.sidecar=helper /
dnslab.target, so `dnslab down` (also after a killed orchestrator) removes it with the lab.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from importlib import resources

from lab import runtime
from lab.errors import LabError
from lab.parallel import parallel
from lab.runtime import Runtime

KIND = "helper"  # its runtime.HELPER label
HOST_KIND = "host-helper"  # the runtime.HELPER label of a helper kept in a host's own namespace (kept_request)
FAULT = "dnslab.fault"  # the fault a one-off helper was started for; KEPT for the kept ones
KEPT = "lab"
TARGET_STARTED = "dnslab.target-started"  # the target's start time when the helper joined its namespace
DNSDIST_ROLES = ("authoritative", "resolver")  # the roles dns-answer faults may target
NODE_LABELS = (runtime.NODE, runtime.ROLE, runtime.SOFTWARE)
MODE_ENV = "DNSLAB_HELPERS"

LISTEN_PORT = 5300
CONSOLE = "127.0.0.1:5199"
CONFIG_PATH = "/tmp/dnsdist.conf"


def from_up() -> bool:
    """Whether `up` starts the helpers (DNSLAB_HELPERS=up), or runs and faults do (the default, on-demand)."""
    mode = os.environ.get(MODE_ENV, "on-demand")
    if mode not in ("up", "on-demand"):
        raise LabError(f"{MODE_ENV}={mode!r}: use 'on-demand' (helpers started by runs and faults, the default) "
                       f"or 'up' (by lab up)")
    return mode == "up"


def dnsdist_config(ipv6: bool = False) -> str:
    """The helper's dnsdist.conf, without the console key (the helper appends a fresh one itself, so it never
    leaves the container). Small rings and one listener thread: it idles most of its life. Dual-stack
    (`ipv6`): it listens on IPv6 too (the redirect sends it both)."""
    return "\n".join([
        f'setLocal("0.0.0.0:{LISTEN_PORT}")',
        *([f'addLocal("[::]:{LISTEN_PORT}")'] if ipv6 else []),
        # the lab's own internal networks are the only ones that can reach it
        'setACL({"0.0.0.0/0", "::/0"})' if ipv6 else 'setACL({"0.0.0.0/0"})',
        f'controlSocket("{CONSOLE}")',
        'setSecurityPollSuffix("")',  # never ask the outside world for security status (closed world)
        'setRingBuffersSize(1000)',
        'newServer({address="127.0.0.1:53"})',
    ]) + "\n"


# The dnsdist helper's entry point: a fresh console key per helper, then dnsdist in the foreground.
DNSDIST_SCRIPT = (
    f'umask 077; key=$(head -c 32 /dev/urandom | base64); '
    f'printf "%ssetKey(\\"%s\\")\\n" "$DNSDIST_CONFIG" "$key" > {CONFIG_PATH}; '
    f'exec dnsdist --supervised --disable-syslog -C {CONFIG_PATH}'
)
LOOP = resources.files("lab.agents").joinpath("nshelper.py").read_text()


def name(description: dict, node: str) -> str:
    return f"{description['nodes'][node]['container']}-helper"


def runs_dnsdist(description: dict, node: str) -> bool:
    return description["nodes"][node]["role"] in DNSDIST_ROLES


def start(rt: Runtime, description: dict, node: str) -> None:
    """(Re)start the node's helper in the node's current namespace; the node must be running (or paused)."""
    target_name = description["nodes"][node]["container"]
    target = rt.container(target_name)
    if target is None or not target.up:
        raise LabError(f"{node} is {target.state if target else 'gone'}: no namespace to start its helper in")
    inherited = {k: v for k, v in target.labels.items() if k.startswith("dnslab.") and k not in NODE_LABELS}
    labels = {**inherited, runtime.LAB: description["lab"], runtime.HELPER: KIND, runtime.TARGET: node,
              FAULT: KEPT, TARGET_STARTED: target.started}
    helper = name(description, node)
    forget(helper)
    rt.remove(helper)  # a stale one (its target restarted since) or a dead leftover
    if runs_dnsdist(description, node):
        rt.start_helper(helper, target_name, description["image"], ["sh", "-c", DNSDIST_SCRIPT], labels,
                        {"DNSDIST_CONFIG": dnsdist_config(bool(description.get("ipv6")))})
    else:
        rt.start_helper(helper, target_name, description["image"], ["sleep", "infinity"], labels)


def start_all(rt: Runtime, description: dict) -> None:
    """From `up`, with DNSLAB_HELPERS=up: every node's helper; this process's channels open in the background."""
    if from_up():
        ensure(rt, description)


def ensure(rt: Runtime, description: dict) -> threading.Thread:
    """Every node's helper in place (one already there for the node's current start stays); then this
    process's channels to them open in the background (the returned thread): the first request to a node
    waits for its channel if it comes that soon."""
    nodes = list(description["nodes"])
    # The loops in file servers need no helper: opened at once, beside the helpers' checks and (re)starts (a
    # zone-data or DNSSEC fault right after a run's first wait waited 2 s behind those, under load).
    inside = threading.Thread(target=_warm, args=(rt, description, [], file_servers(description)), daemon=True)
    inside.start()

    def one(node: str) -> None:
        try:
            _valid(rt, description, node)[0] or start(rt, description, node)
        except LabError:
            pass  # a node that does not run: its first fault says so, or starts the helper once it runs
    parallel(one, nodes)
    thread = threading.Thread(target=lambda: (_warm(rt, description, nodes, []), inside.join()), daemon=True)
    thread.start()
    return thread


def warm(rt: Runtime, description: dict) -> threading.Thread:
    """What a run does at its first wait: `ensure`, all of it in the background."""
    thread = threading.Thread(target=lambda: ensure(rt, description).join(), daemon=True)
    thread.start()
    return thread


def file_servers(description: dict) -> list[str]:
    """Nodes serving a zone from files (no primary): a zone-data fault edits the file in the node's own
    container (lab.faults.zonedata), so `ensure` opens their inside loops too."""
    return sorted({n for z in description["zones"].values() if not z["primary"] for n in z["servers"]})


def _warm(rt: Runtime, description: dict, nodes: list[str], inside: list[str]) -> None:
    """This process's channels to the helpers of `nodes` and to the loops in `inside` nodes' containers."""
    def one(item: tuple[str, bool]) -> None:
        try:
            channel = _channel(rt, description, *item)
            if item[1]:  # what a zone-data fault runs there, loaded: importing dnspython took 0.3-0.5 s
                channel.request([step("zonefile", "read", {"path": "/dev/null"}), step("ask", "run", {"queries": []})])
        except Exception:  # noqa: BLE001 - only a head start: the first request opens what is missing, or says why
            pass
    parallel(one, [(node, False) for node in nodes] + [(node, True) for node in inside])


def renew(rt: Runtime, description: dict, nodes: list[str]) -> None:
    """After nodes started again (each in a new namespace): the helpers they had, anew, with their channels,
    so the next fault on them is as quick as the first."""
    had = [n for n in nodes if from_up() or rt.container(name(description, n)) is not None]
    parallel(lambda node: _channel(rt, description, node), had)


def _valid(rt: Runtime, description: dict, node: str) -> tuple[bool, str]:
    """(the helper is running in the node's current namespace, the node's start time)."""
    target = rt.container(description["nodes"][node]["container"])
    if target is None or not target.up:
        raise LabError(f"{node} is {target.state if target else 'gone'}: nothing to change in its namespace")
    helper = rt.container(name(description, node))
    ok = helper is not None and helper.state == "running" and helper.labels.get(TARGET_STARTED) == target.started
    return ok, target.started


class Channel:
    """One exec of the helper's command loop, kept open: a request is a line out and a line back."""

    def __init__(self, rt: Runtime, helper: str, started: str):
        self.helper = helper
        self.started = started
        self.stream = rt.exec_stream(helper, ["python3", "-u", "-c", LOOP], stdin=True)
        self.chunks = self.stream.chunks()
        self.buffer = b""
        self.lock = threading.Lock()
        self.request([])  # the loop's python has started: the first real request pays no start-up

    def request(self, steps: list[dict]) -> dict:
        with self.lock:
            self.stream.send((json.dumps({"steps": steps}) + "\n").encode())
            while b"\n" not in self.buffer:
                out, _ = next(self.chunks)  # StopIteration: the loop or its helper ended
                self.buffer += out or b""
            line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line)

    def close(self) -> None:
        self.stream.close()


_channels: dict[str, Channel] = {}
_opening: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def forget(helper: str) -> None:
    with _guard:
        channel = _channels.pop(helper, None)
    if channel is not None:
        channel.close()


def _channel(rt: Runtime, description: dict, node: str, inside: bool = False) -> Channel:
    container = description["nodes"][node]["container"]
    key = container if inside else name(description, node)
    with _guard:
        opening = _opening.setdefault(key, threading.Lock())
    with opening:  # one channel per helper (or node): a second caller waits for the first one's
        target = rt.container(container)
        if target is None or not target.up:
            raise LabError(f"{node} is {target.state if target else 'gone'}: nothing to change in its namespace")
        if inside and target.state != "running":  # a paused node would hold the request until unpaused
            raise LabError(f"{node} is {target.state}: its own processes cannot run a request")
        with _guard:
            channel = _channels.get(key)
        if channel is not None and channel.started == target.started:
            return channel
        forget(key)
        started = target.started
        if not inside:
            ok, started = _valid(rt, description, node)
            if not ok:
                start(rt, description, node)
        channel = Channel(rt, key, started)
        with _guard:
            _channels[key] = channel
        return channel


def request(rt: Runtime, description: dict, node: str, steps: list[dict], inside: bool = False) -> list[str]:
    """Run the steps in the node's namespace (lab.agents.nshelper); their outputs, or LabError saying why not.

    `inside`: run them in the node's own container instead (its files, its processes: what an operator's
    shell on the node would do), by the same loop kept open over one exec of the node, with the node's own
    privileges; it ends with the node's process and is opened again at the next request."""
    key = description["nodes"][node]["container"] if inside else name(description, node)
    where = f"{node}'s container" if inside else f"{node}'s namespace"
    return _ask(key, where, lambda: _channel(rt, description, node, inside), steps)


def kept_request(rt: Runtime, helper: str, where: str, start: Callable[[], None], steps: list[dict]) -> list[str]:
    """Run the steps by the loop of a kept helper in no node's namespace (a host's own, lab.faults.zone), named
    `helper`; `start` (re)starts it when it does not run. Its namespace outlives any node: a channel once open
    is used without a look at the helper (one that went away fails the request, which opens it anew once)."""
    def channel() -> Channel:
        with _guard:
            opening = _opening.setdefault(helper, threading.Lock())
        with opening:
            with _guard:
                found = _channels.get(helper)
            if found is not None:
                return found
            container = rt.container(helper)
            if container is None or container.state != "running":
                start()
            opened = Channel(rt, helper, "")
            with _guard:
                _channels[helper] = opened
            return opened
    return _ask(helper, where, channel, steps)


def _ask(key: str, where: str, channel: Callable[[], Channel], steps: list[dict]) -> list[str]:
    for attempt in (1, 2):  # a channel whose helper (or node) went away (removed, restarted) is opened again once
        try:
            answer = channel().request(steps)
            break
        except (StopIteration, OSError, ValueError) as exc:
            forget(key)
            if attempt == 2:
                raise LabError(f"the loop in {where} does not answer ({type(exc).__name__}); "
                               f"see 'docker logs {key}'") from None
    if not answer["ok"]:
        raise LabError(f"in {where}: {answer['error']}")
    return answer["outputs"]


def step(module: str, function: str, arg) -> dict:
    """A request step that runs function(arg) of lab.agents.MODULE (its source goes along)."""
    source = resources.files("lab.agents").joinpath(f"{module}.py").read_text()
    return {"call": function, "module": module, "source": source, "arg": arg}


def call(rt: Runtime, description: dict, node: str, module: str, function: str, arg, inside: bool = False) -> object:
    """function(arg) of lab.agents.MODULE, run by the node's helper in the node's namespace (as if asked from
    the node itself, without an exec), or with `inside` in the node's own container; its result."""
    [said] = request(rt, description, node, [step(module, function, arg)], inside)
    return json.loads(said)


def close_all() -> None:
    """End this process's channels (the helpers stay)."""
    with _guard:
        helpers = list(_channels)
    for helper in helpers:
        forget(helper)
