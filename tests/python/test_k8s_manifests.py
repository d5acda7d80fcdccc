"""The Kubernetes manifests of deploy/k8s/ against the Kubernetes API schema, offline.

kubernetes-validate (PyPI) ships the API's JSON schemas for every Kubernetes release; strict
validation rejects unknown fields, so a misspelled key fails here as `kubectl apply` would
fail on a cluster. The manifests are also checked against each other: an Indexed Job whose
shard count is the one luxsim is told, and a merge Job reading the same volume.

Run: python -m pytest tests/python/test_k8s_manifests.py (needs kubernetes-validate).
"""

import copy
import pathlib

import kubernetes_validate  # scripts/test installs it
import pytest
import yaml  # a dependency of kubernetes-validate

ROOT = pathlib.Path(__file__).resolve().parents[2]
SWEEP = ROOT / "deploy" / "k8s" / "sweep-job.yaml"
MERGE = ROOT / "deploy" / "k8s" / "merge-job.yaml"
# The oldest release the package has schemas for (completionMode is GA since 1.24), and the
# newest.
VERSIONS = [kubernetes_validate.utils.all_versions()[0], kubernetes_validate.utils.latest_version()]


def load(path):
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def validate(resource, version):
    kubernetes_validate.validate(resource, version, strict=True)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", [SWEEP, MERGE], ids=["sweep-job", "merge-job"])
def test_manifests_match_the_api_schema(path, version):
    resources = load(path)
    assert resources
    for resource in resources:
        validate(resource, version)


def broken_copies():
    """A copy of the sweep Job broken one way each, and what the schema says of it."""
    job = next(d for d in load(SWEEP) if d["kind"] == "Job")

    def copy_with(change):
        bad = copy.deepcopy(job)
        change(bad)
        return bad

    def misspell(d):
        d["spec"]["completionMod"] = d["spec"].pop("completionMode")

    def container_typo(d):
        c = d["spec"]["template"]["spec"]["containers"][0]
        c["volumeMount"] = c.pop("volumeMounts")

    def wrong_type(d):
        d["spec"]["completions"] = "four"

    def no_containers(d):
        del d["spec"]["template"]["spec"]["containers"]

    return [
        ("misspelled completionMode", copy_with(misspell)),
        ("misspelled volumeMounts", copy_with(container_typo)),
        ("completions not an integer", copy_with(wrong_type)),
        ("no containers", copy_with(no_containers)),
    ]


@pytest.mark.parametrize("what,resource", broken_copies(), ids=lambda x: x if isinstance(x, str) else "")
def test_a_broken_manifest_fails(what, resource):
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(resource, VERSIONS[-1])


def test_a_misspelled_field_in_the_file_fails(tmp_path):
    text = SWEEP.read_text().replace("completionMode:", "completionmode:")
    assert text != SWEEP.read_text()
    bad = tmp_path / "sweep-job.yaml"
    bad.write_text(text)
    job = next(d for d in load(bad) if d["kind"] == "Job")
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(job, VERSIONS[-1])


def test_the_jobs_agree_with_each_other_and_with_luxsim():
    sweep = {d["kind"]: d for d in load(SWEEP)}
    job, claim = sweep["Job"], sweep["PersistentVolumeClaim"]
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    # luxsim's shard count is the Job's number of indexes.
    assert int(env["LUXSIM_SHARD_COUNT"]) == spec["completions"]
    command = " ".join(container["args"])
    assert "--shard auto" in command
    assert "--out /sweeps/byz/shard-$((JOB_COMPLETION_INDEX + 1))" in command
    merge = load(MERGE)[0]
    merge_pod = merge["spec"]["template"]["spec"]
    assert "/sweeps/byz/shard-* --out /sweeps/byz/merged" in " ".join(merge_pod["containers"][0]["args"])
    for p in (pod, merge_pod):
        volumes = [v for v in p["volumes"] if "persistentVolumeClaim" in v]
        claims = [v["persistentVolumeClaim"]["claimName"] for v in volumes]
        assert claims == [claim["metadata"]["name"]]
        mounts = {m["mountPath"] for m in p["containers"][0]["volumeMounts"]}
        assert "/sweeps" in mounts
