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
