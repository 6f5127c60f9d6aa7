"""sparkconf and sparkui without a running Spark: what the relay trusts,
and where the configuration goes."""

import os
import socket
import stat

from sparkhub_contents import sparkconf, sparkui


def _table(tmp_path, rows):
    path = tmp_path / "tcp"
    lines = ["  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"]
    for i, (port, state, uid) in enumerate(rows):
        lines.append(f"   {i}: 0100007F:{port:04X} 00000000:0000 {state} 00000000:00000000 00:00000000 00000000  {uid}        0 {1000 + i} 1")
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_only_own_listening_sockets_count(tmp_path):
    table = _table(tmp_path, [(4040, "0A", 1001), (4041, "0A", 1002), (4042, "01", 1002), (4043, "0A", 1002)])
    assert sparkui.own_listening_ports(uid=1002, tables=(table,)) == {4041, 4043}
    assert sparkui.own_listening_ports(uid=1001, tables=(table,)) == {4040}
    assert sparkui.own_listening_ports(uid=7, tables=(table, str(tmp_path / "missing"))) == set()


def test_own_listening_ports_sees_a_real_socket():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    try:
        assert s.getsockname()[1] in sparkui.own_listening_ports()
    finally:
        s.close()


def test_candidate_ports_follow_the_configuration(tmp_path, monkeypatch):
    monkeypatch.delenv("SPARK_CONF_DIR", raising=False)
    assert sparkui.candidate_ports() == list(range(4040, 4057))
    (tmp_path / "spark-defaults.conf").write_text("spark.ui.port 31003\nspark.port.maxRetries 0\n")
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    assert sparkui.candidate_ports() == [31003]


def test_redirects_stay_under_the_relay():
    prefix = "/user/alice/spark"
    assert sparkui._location("http://10.0.0.5:4040/jobs/", prefix) == "/user/alice/spark/jobs/"
    assert sparkui._location("http://evil.example/x?y=1", prefix) == "/user/alice/spark/x?y=1"
    assert sparkui._location("/user/alice/spark/stages/", prefix) == "/user/alice/spark/stages/"
    assert sparkui._location("//evil.example/", prefix) == "/user/alice/spark/"
    assert sparkui._location("jobs/", prefix) == "/user/alice/spark/jobs/"


def test_apply_writes_a_private_configuration(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    env = {"SPARKHUB_PROFILE": "small", "SPARKHUB_PROFILE_CPUS": "2", "SPARKHUB_SPARK_DRIVER_MEMORY": "1g",
           "SPARKHUB_SPARK_CONF": "spark.sql.shuffle.partitions 8"}
    folder = sparkconf.apply(env)
    assert folder == os.path.join(str(tmp_path), ".sparkhub", "spark")
    assert env["SPARK_CONF_DIR"] == folder
    text = open(os.path.join(folder, "spark-defaults.conf")).read()
    assert "spark.master local[2]\n" in text
    assert "spark.driver.memory 1g\n" in text
    assert text.endswith("spark.sql.shuffle.partitions 8\n")
    # Outside a server of the hub's nothing is written.
    assert sparkconf.apply({}) is None


def test_bad_values_are_refused_by_name():
    for env, word in [
        ({"SPARKHUB_SPARK_MASTER": "yarn"}, "SPARKHUB_SPARK_MASTER=yarn"),
        ({"SPARKHUB_SPARK_MASTER": "spark://h:1/x"}, "spark://host:port"),
        ({"SPARKHUB_SPARK_MASTER": "mesos://m:5050", "SPARKHUB_SPARK_CORES_MAX": "many"}, "SPARKHUB_SPARK_CORES_MAX"),
        ({"SPARKHUB_SPARK_CONF": "hadoop.x 1"}, "not a Spark setting"),
    ]:
        try:
            sparkconf.render(env)
        except sparkconf.ConfError as e:
            assert word in str(e)
        else:
            raise AssertionError(f"{env} was rendered")


def test_each_spark_application_takes_its_own_ports(tmp_path):
    """A server on Mesos runs several Spark applications at once: each
    driver Spark's launcher starts gets a set of the task's ports no
    running driver holds, and one too many is refused with a sentence."""
    import shutil
    import subprocess
    if not shutil.which("flock") or not shutil.which("bash"):
        import pytest
        pytest.skip("needs flock and bash, as the image has")
    env = {"SPARKHUB_PROFILE": "p", "SPARKHUB_SPARK_MASTER": "mesos://m:5050", "SPARK_CONF_DIR": str(tmp_path / "conf"),
           "SPARKHUB_AGENT_HOST": "10.1.2.3", "SPARKHUB_SPARK_DRIVER_PORT": "31001", "SPARKHUB_SPARK_BLOCKMANAGER_PORT": "31002",
           "SPARKHUB_SPARK_UI_PORT": "31003", "LIBPROCESS_PORT": "31004",
           "SPARKHUB_SPARK_PORTS": "31001,31002,31003,31004 31005,31006,31007,31008"}
    folder, _ = sparkconf.write(env)
    slot1 = open(os.path.join(folder, "slot-1", "spark-defaults.conf")).read()
    assert "spark.driver.port 31005\n" in slot1 and "spark.ui.port 31007\n" in slot1
    assert "spark.driver.blockManager.port 31006\n" in slot1
    assert open(os.path.join(folder, "slot-1", "libprocess.env")).read() == "LIBPROCESS_IP=10.1.2.3\nLIBPROCESS_PORT=31008\n"
    # As Spark's load-spark-env.sh sources it, then execs the driver.
    drivers = []
    script = 'set -a; . "$SPARK_CONF_DIR/spark-env.sh"; set +a; echo "$SPARK_CONF_DIR $LIBPROCESS_PORT"; exec cat'
    try:
        got = []
        for _ in range(2):
            p = subprocess.Popen(["bash", "-c", script], env={"SPARK_CONF_DIR": folder, "PATH": os.environ["PATH"]},
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            drivers.append(p)
            got.append(p.stdout.readline().split())
        assert got == [[os.path.join(folder, "slot-0"), "31004"], [os.path.join(folder, "slot-1"), "31008"]]
        third = subprocess.run(["bash", "-c", script], env={"SPARK_CONF_DIR": folder, "PATH": os.environ["PATH"]},
                               stdin=subprocess.DEVNULL, capture_output=True, text=True)
        assert third.returncode == 1 and "runs 2 Spark applications already" in third.stderr
        # The relay looks for the UIs of every set.
        os.environ["SPARK_CONF_DIR"] = folder
        try:
            assert sparkui.candidate_ports() == [31003, 31007]
        finally:
            del os.environ["SPARK_CONF_DIR"]
        # A driver that ends frees its set for the next.
        drivers[0].stdin.close()
        drivers[0].wait()
        again = subprocess.run(["bash", "-c", 'set -a; . "$SPARK_CONF_DIR/spark-env.sh"; echo "$LIBPROCESS_PORT"'],
                               env={"SPARK_CONF_DIR": folder, "PATH": os.environ["PATH"]}, capture_output=True, text=True)
        assert again.stdout.strip() == "31004", again.stderr
    finally:
        for p in drivers:
            if p.poll() is None:
                p.stdin.close()
                p.wait()
