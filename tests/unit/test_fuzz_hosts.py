"""Property-based fuzzing of the hosts-file loader: whatever the file holds, loading it gives hosts or a
HostsError whose every problem names the file and a line — never another exception.

Bounded for `make test` (DNSLAB_FUZZ_EXAMPLES, default 150 per property), like test_fuzz_topology."""

from __future__ import annotations

import os

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from lab import hosts
from lab.errors import HostsError

EXAMPLES = int(os.environ.get("DNSLAB_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

URLS = ["unix:///run/a.sock", "unix://a", "tcp://10.1.0.2:2376", "tcp://[::1", "tcp://h:99999", "ssh://lab@h",
        "ssh://", "http://h", "tcp://h:0/x", "unix:///\x00", "tcp://h:2376?q", ""]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=False),
                    st.text(max_size=30), st.sampled_from(URLS + ["az-a", "ca.pem", "~nobody/x", "/dev/null", "."]))
keys = st.one_of(st.sampled_from(["hosts", "docker", "tls", "ca", "cert", "key", "az-a", "az-b", "Az", "-x"]),
                 st.text(max_size=8), st.integers(0, 9), st.booleans())
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(keys, inner, max_size=4)),
                      max_leaves=14)
tls = st.fixed_dictionaries({}, optional={"ca": values, "cert": values, "key": st.sampled_from(["/dev/null", "k"])})
host = st.fixed_dictionaries({}, optional={"docker": st.one_of(st.sampled_from(URLS), values), "tls": tls,
                                           "extra": values})
documents = st.one_of(values, st.fixed_dictionaries({"hosts": st.dictionaries(keys, st.one_of(host, values),
                                                                               max_size=4)},
                                                    optional={"hots": values}))


def assert_located(path, text: str) -> None:
    path.write_text(text)
    try:
        loaded = hosts.load(path)
    except HostsError as exc:
        assert exc.problems, "a HostsError must carry problems"
        for problem in exc.problems:
            assert problem.file == str(path)
            assert problem.line >= 1, str(problem)
            assert "\n" not in problem.message
        return
    assert loaded and all(isinstance(h, hosts.Host) for h in loaded.values())


@FUZZ
@given(documents)
def test_arbitrary_documents_never_crash(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("fuzz") / "hosts.yml"
    try:
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError:
        return
    assert_located(path, text)


@FUZZ
@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes(tmp_path_factory, text):
    assert_located(tmp_path_factory.mktemp("fuzz") / "hosts.yml", text)
