"""The real Elasticsearch node of the tests: scripts/es-node and the es_* fixtures."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch, helpers

from tests.es_node import REPO, REQUIRE_ENV, URL_ENV, EsNode, delete_indexes, run_script

# Documents as the backends index them: our own token streams, joined by spaces.
DOCS = [
    {"id": "a1", "source": "larepublica", "cluster": "c1", "published": "2024-01-05",
     "stems": "lav activ fiscal"},
    {"id": "a2", "source": "elcomercio", "cluster": "c1", "published": "2024-01-06",
     "stems": "lav activ fiscal denunci"},
    {"id": "a3", "source": "larepublica", "cluster": "c2", "published": "2024-02-10",
     "stems": "lav corrupcion s 1 500"},
    {"id": "a4", "source": "ojopublico", "cluster": "c3", "published": "2024-02-11",
     "stems": "extorsion trujill"},
    {"id": "a5", "source": "elcomercio", "cluster": "c2", "published": "2024-03-01",
     "stems": "lav corrupcion sobornos"},
    {"id": "a6", "source": "elcomercio", "cluster": "c4", "published": "2024-03-02",
     "stems": "lav dinero"},
]
MAPPING = {
    "dynamic": "strict",
    "properties": {
        "source": {"type": "keyword"},
        "cluster": {"type": "keyword"},
        "published": {"type": "date", "format": "yyyy-MM-dd"},
        "stems": {"type": "text", "analyzer": "whitespace"},
    },
}


def node_dir_or_skip(es_node: EsNode) -> Path:
    if es_node.dir is None:
        pytest.skip(f"the node comes from {URL_ENV}: scripts/es-node does not manage it")
    return es_node.dir


def test_node_is_healthy(es_client: Elasticsearch) -> None:
    assert es_client.cluster.health()["status"] in ("green", "yellow")
    assert es_client.info()["version"]["number"].split(".")[0] == "8"


def test_whitespace_analyzer_keeps_our_tokens(es_client: Elasticsearch) -> None:
    text = "lav corrupcion s 1 500"
    tokens = es_client.indices.analyze(analyzer="whitespace", text=text)["tokens"]
    assert [t["token"] for t in tokens] == ["lav", "corrupcion", "s", "1", "500"]
    assert [t["position"] for t in tokens] == [0, 1, 2, 3, 4]


def test_terms_aggregation_date_histogram_and_collapse(
    es_client: Elasticsearch, es_prefix: str
) -> None:
    index = f"{es_prefix}-docs"
    es_client.indices.create(index=index, mappings=MAPPING,
                             settings={"number_of_shards": 1, "number_of_replicas": 0})
    actions = [{"_index": index, "_id": d["id"], **{k: v for k, v in d.items() if k != "id"}}
               for d in DOCS]
    assert helpers.bulk(es_client, actions, refresh="wait_for")[0] == len(DOCS)

    matching = [d for d in DOCS if "lav" in d["stems"].split()]
    response = es_client.search(
        index=index, query={"match": {"stems": "lav"}}, size=10,
        collapse={"field": "cluster", "inner_hits": {"name": "members", "size": 10}},
        aggs={
            "source": {"terms": {"field": "source",
                                 "order": [{"_count": "desc"}, {"_key": "asc"}]}},
            "clusters": {"cardinality": {"field": "cluster", "precision_threshold": 40000}},
            "months": {"date_histogram": {"field": "published", "calendar_interval": "month",
                                          "format": "yyyy-MM"}},
        },
    )
    # Aggregations count documents, before the collapse.
    assert response["hits"]["total"]["value"] == len(matching)
    sources = Counter(d["source"] for d in matching)
    assert [(b["key"], b["doc_count"]) for b in response["aggregations"]["source"]["buckets"]] \
        == sorted(sources.items(), key=lambda kv: (-kv[1], kv[0]))
    months = Counter(d["published"][:7] for d in matching)
    assert {b["key_as_string"]: b["doc_count"]
            for b in response["aggregations"]["months"]["buckets"]} == months
    # The collapse: one hit per cluster, its inner hits are every matching member.
    clusters: dict[str, set[str]] = {}
    for d in matching:
        clusters.setdefault(d["cluster"], set()).add(d["id"])
    assert response["aggregations"]["clusters"]["value"] == len(clusters)
    hits = response["hits"]["hits"]
    assert sorted(h["fields"]["cluster"][0] for h in hits) == sorted(clusters)
    for hit in hits:
        members = {m["_id"] for m in hit["inner_hits"]["members"]["hits"]["hits"]}
        assert members == clusters[hit["fields"]["cluster"][0]]
        assert hit["_id"] in members


def test_delete_indexes_removes_only_the_prefix(es_client: Elasticsearch, es_prefix: str) -> None:
    other = f"other-{uuid.uuid4().hex[:12]}"
    mine = [f"{es_prefix}-v1", f"{es_prefix}-v2"]
    for name in [*mine, other]:
        es_client.indices.create(index=name, settings={"number_of_replicas": 0})
    es_client.indices.put_alias(index=mine[1], name=es_prefix)
    es_client.indices.put_index_template(name=f"{es_prefix}-template",
                                         index_patterns=[f"{es_prefix}-*"])
    try:
        assert delete_indexes(es_client, es_prefix) == sorted(mine)
        assert not es_client.indices.exists(index=",".join(mine))
        assert not es_client.indices.exists_alias(name=es_prefix)
        assert not es_client.indices.exists_index_template(name=f"{es_prefix}-template")
        assert es_client.indices.exists(index=other)
    finally:
        es_client.indices.delete(index=other, ignore_unavailable=True)
    with pytest.raises(ValueError):
        delete_indexes(es_client, "te*")


def test_status_of_the_session_node(es_node: EsNode) -> None:
    result = run_script("status", "--dir", str(node_dir_or_skip(es_node)), timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("running pid ")
    assert result.stdout.split()[-1] == es_node.url
    assert "health=green" in result.stdout or "health=yellow" in result.stdout


def test_status_without_a_node(tmp_path: Path) -> None:
    never = run_script("status", "--dir", str(tmp_path / "never"), timeout=30)
    assert (never.returncode, never.stdout.strip()) == (3, "stopped")
    assert not (tmp_path / "never").exists()  # status creates nothing

    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / "stale").mkdir()
    (tmp_path / "stale" / "es-node.pid").write_text(f"{dead.pid}\n")
    stale = run_script("status", "--dir", str(tmp_path / "stale"), timeout=30)
    assert stale.returncode == 3
    assert stale.stdout.startswith("stopped (stale pid file")
    # our own pid is alive but is not an es-node JVM: stale too, and stop clears it
    (tmp_path / "stale" / "es-node.pid").write_text(f"{os.getpid()}\n")
    assert run_script("status", "--dir", str(tmp_path / "stale"), timeout=30).returncode == 3
    stop = run_script("stop", "--dir", str(tmp_path / "stale"), timeout=30)
    assert stop.returncode == 0
    assert "stale pid file" in stop.stderr
    assert not (tmp_path / "stale" / "es-node.pid").exists()


def test_start_refuses_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_script("start", "--port", str(port), "--dir", str(tmp_path / "n"), timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"es-node: error: port {port} is already in use by another process; "
        "choose another --port, or --port 0 for any free port"
    )
    assert not (tmp_path / "n" / "es-node.pid").exists()


@pytest.mark.slow
def test_start_is_idempotent_and_stop_then_status_says_stopped(
    es_node: EsNode, tmp_path: Path
) -> None:
    node_dir_or_skip(es_node)  # a node of our own started, so Java and the jars are here
    directory = str(tmp_path / "second")
    owner = ("--owner", str(os.getpid()))
    try:
        first = run_script("start", "--dir", directory, *owner, timeout=300)
        assert first.returncode == 0, first.stderr
        url = first.stdout.strip().splitlines()[-1]
        assert url.startswith("http://127.0.0.1:") and url != es_node.url
        with Elasticsearch(url) as client:
            assert client.cluster.health()["status"] in ("green", "yellow")
        again = run_script("start", "--dir", directory, timeout=60)
        assert (again.returncode, again.stdout.strip().splitlines()[-1]) == (0, url)
        assert "already running" in again.stderr
    finally:
        stop = run_script("stop", "--dir", directory, timeout=120)
    assert stop.returncode == 0
    assert "stopped pid" in stop.stderr
    status = run_script("status", "--dir", directory, timeout=30)
    assert (status.returncode, status.stdout.strip()) == (3, "stopped")
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=2).close()
    assert run_script("stop", "--dir", directory, timeout=30).returncode == 0  # idempotent


@pytest.mark.slow
@pytest.mark.parametrize("required", [True, False], ids=["required-fails", "optional-skips"])
def test_a_node_that_cannot_start_fails_only_where_required(required: bool) -> None:
    env = {k: v for k, v in os.environ.items() if k not in (URL_ENV, REQUIRE_ENV)}
    env["JAVA_HOME"] = "/nonexistent"
    if required:
        env[REQUIRE_ENV] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         f"{Path(__file__).relative_to(REPO)}::test_node_is_healthy"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert "JAVA_HOME=/nonexistent has no bin/java" in result.stdout
    if required:
        assert result.returncode == 1, result.stdout
        assert "1 error" in result.stdout
    else:
        assert result.returncode == 0, result.stdout
        assert "1 skipped" in result.stdout
