"""Spark's configuration for a server of the hub, from its environment.

The hub gives every server the ``SPARKHUB_*`` variables of its profile
(``images/sparkenv.go`` renders them and says what each one means) and,
on Mesos, of the agent and ports its task holds. This module turns them
into ``spark-defaults.conf`` and the variables libmesos reads, so that
``SparkSession.builder.getOrCreate()`` in a kernel gets the profile's
settings with nothing typed by the analyst. It is the one place that
does so: the image's entrypoint runs it (``python3 -m
sparkhub_contents.sparkconf``) before Jupyter, and the server extension
runs it at load for servers started without the entrypoint (local
servers, Mesos' own containerizer).

The file goes to ``$SPARK_CONF_DIR``, else ``$SPARK_HOME/conf`` when
``SPARK_HOME`` is set, else ``~/.sparkhub/spark``; ``apply`` sets
``SPARK_CONF_DIR`` in the server's environment, which its kernels inherit.

A server on Mesos may run several Spark applications at once (a
SparkContext in each of several kernels), each needing ports of the
task's own: ``SPARKHUB_SPARK_PORTS`` gives a set of four (driver, block
manager, UI, libprocess) for each. Each set gets a folder ``slot-N`` with
its own ``spark-defaults.conf`` and ``libprocess.env``, and
``spark-env.sh``, which Spark's launcher sources before every driver
starts, points the driver at the first set no running driver holds (a
lock the driver's JVM keeps until it exits).
"""

import os
import re
import secrets
import shlex
import sys

# A master a profile may name for Spark outside Mesos: local[N], local[*]
# or a standalone cluster's spark://host:port[,host:port...].
_LOCAL_RE = re.compile(r"^local\[([1-9][0-9]*|\*)\]$")
_STANDALONE_RE = re.compile(r"^spark://[A-Za-z0-9.\-]+:[0-9]{1,5}(,[A-Za-z0-9.\-]+:[0-9]{1,5})*$")
_SIZE_RE = re.compile(r"^[0-9]+[kmgtpKMGTP]?[bB]?$")
_DURATION_RE = re.compile(r"^[0-9]+(us|ms|s|m|min|h|d)$")

DEFAULT_SHUFFLE_DIR = "/var/lib/sparkhub/shuffle"


class ConfError(ValueError):
    """A variable the hub gave holds what Spark cannot take."""


def _count(env, name, default):
    value = env.get(name, "") or default
    if not value.isdigit():
        raise ConfError(f"{name}={value}: want a whole number")
    return value


def _port(env, name):
    value = env.get(name, "")
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise ConfError(f"{name}={value}: the task's port is missing or not a port")
    return value


def _bool(env, name, default):
    value = (env.get(name, "") or default).lower()
    if value not in ("true", "false"):
        raise ConfError(f"{name}={value}: want true or false")
    return value


def render(env):
    """Return (lines of spark-defaults.conf, variables for libmesos) for env.

    Raises ConfError, naming the variable, for a value Spark would refuse.
    """
    out = []

    def conf(key, value):
        if not value:
            return
        if "\n" in value or "\r" in value:
            raise ConfError(f"{key}: the value has a line break")
        out.append(f"{key} {value}")

    spark_home = env.get("SPARK_HOME", "") or "/opt/spark"
    master = env.get("SPARKHUB_SPARK_MASTER", "")
    profile = env.get("SPARKHUB_PROFILE", "") or "default"
    out.append(f"# Written by sparkhub for profile {profile}; rewritten at every start.")

    cluster = master.startswith("mesos://") or master.startswith("spark://")
    if master and not cluster and not _LOCAL_RE.match(master):
        raise ConfError(
            f"SPARKHUB_SPARK_MASTER={master}: want mesos://host:port, mesos://zk://..., "
            "spark://host:port or local[N]"
        )
    if master.startswith("spark://") and not _STANDALONE_RE.match(master):
        raise ConfError(f"SPARKHUB_SPARK_MASTER={master}: want spark://host:port[,host:port...]")

    if cluster:
        conf("spark.master", master)
        conf("spark.submit.deployMode", "client")
        if master.startswith("mesos://"):
            conf("spark.mesos.coarse", "true")
            conf("spark.mesos.executor.docker.image",
                 env.get("SPARKHUB_SPARK_EXECUTOR_IMAGE", "") or env.get("SPARKHUB_IMAGE", ""))
            conf("spark.mesos.executor.docker.forcePullImage",
                 _bool(env, "SPARKHUB_SPARK_FORCE_PULL", "true"))
            conf("spark.mesos.executor.home", spark_home)
            # Spark's own credentials (never the hub's): the secret stays
            # in its file, mounted read-only from the agent.
            conf("spark.mesos.principal", env.get("SPARKHUB_SPARK_PRINCIPAL", ""))
            if env.get("SPARKHUB_SPARK_SECRET_FILE"):
                if not env.get("SPARKHUB_SPARK_PRINCIPAL"):
                    raise ConfError("SPARKHUB_SPARK_SECRET_FILE: a secret needs SPARKHUB_SPARK_PRINCIPAL")
                conf("spark.mesos.secret.file", env["SPARKHUB_SPARK_SECRET_FILE"])
            conf("spark.mesos.role", env.get("SPARKHUB_SPARK_ROLE", ""))
            conf("spark.mesos.constraints", env.get("SPARKHUB_SPARK_CONSTRAINTS", ""))
            labels = []
            if env.get("SPARKHUB_USER"):
                labels.append("sparkhub.user:" + env["SPARKHUB_USER"])
            if env.get("SPARKHUB_PROFILE"):
                labels.append("sparkhub.profile:" + env["SPARKHUB_PROFILE"])
            conf("spark.mesos.task.labels", ",".join(labels))
        # Without spark.cores.max an application takes every core offered.
        conf("spark.cores.max", _count(env, "SPARKHUB_SPARK_CORES_MAX", "10"))
        conf("spark.executor.cores", _count(env, "SPARKHUB_SPARK_EXECUTOR_CORES", "1"))
        memory = env.get("SPARKHUB_SPARK_EXECUTOR_MEMORY", "")
        if memory and not _SIZE_RE.match(memory):
            raise ConfError(f"SPARKHUB_SPARK_EXECUTOR_MEMORY={memory}: want a size such as 4g")
        conf("spark.executor.memory", memory)
        dynamic = _bool(env, "SPARKHUB_SPARK_DYNAMIC_ALLOCATION", "true")
        conf("spark.dynamicAllocation.enabled", dynamic)
        if dynamic == "true":
            conf("spark.dynamicAllocation.minExecutors", _count(env, "SPARKHUB_SPARK_MIN_EXECUTORS", "0"))
            conf("spark.dynamicAllocation.maxExecutors", _count(env, "SPARKHUB_SPARK_MAX_EXECUTORS", "10"))
            # Spark's default keeps an executor holding cached data
            # forever, and with it the cluster's cores.
            idle = env.get("SPARKHUB_SPARK_CACHED_IDLE_TIMEOUT", "") or "30min"
            if not _DURATION_RE.match(idle):
                raise ConfError(f"SPARKHUB_SPARK_CACHED_IDLE_TIMEOUT={idle}: want a time such as 30min")
            conf("spark.dynamicAllocation.cachedExecutorIdleTimeout", idle)
        shuffle = _bool(env, "SPARKHUB_SPARK_SHUFFLE_SERVICE", dynamic)
        conf("spark.shuffle.service.enabled", shuffle)
        volumes = [v for v in env.get("SPARKHUB_SPARK_VOLUMES", "").split(",") if v]
        if shuffle == "true" and master.startswith("mesos://"):
            # The agent's shuffle service reads the executors' files, so
            # they go to a folder of the agent's, at the same path on
            # both sides; the profile's volumes come after it.
            shuffle_dir = env.get("SPARKHUB_SPARK_SHUFFLE_DIR", "") or DEFAULT_SHUFFLE_DIR
            for v in volumes:
                parts = v.split(":")
                target = parts[1] if len(parts) > 1 and parts[1].startswith("/") else parts[0]
                if os.path.normpath(target) == os.path.normpath(shuffle_dir):
                    raise ConfError(f"SPARKHUB_SPARK_VOLUMES: {v} mounts over the shuffle folder {shuffle_dir}")
            conf("spark.local.dir", shuffle_dir)
            port = env.get("SPARKHUB_SPARK_SHUFFLE_PORT", "")
            if port and (not port.isdigit() or not 1 <= int(port) <= 65535):
                raise ConfError(f"SPARKHUB_SPARK_SHUFFLE_PORT={port}: not a port")
            conf("spark.shuffle.service.port", port)
            volumes.insert(0, f"{shuffle_dir}:{shuffle_dir}:rw")
        if master.startswith("mesos://"):
            conf("spark.mesos.executor.docker.volumes", ",".join(volumes))
    else:
        # No cluster: Spark runs inside the server, on the profile's
        # cores unless the profile says local[N].
        cores = env.get("SPARKHUB_PROFILE_CPUS", "").split(".")[0]
        conf("spark.master", master or (f"local[{cores}]" if cores.isdigit() and int(cores) >= 1 else "local[*]"))
    # The UI's kill links change the application on a GET; the relay
    # refuses them, and so does Spark.
    conf("spark.ui.killEnabled", "false")
    driver_memory = env.get("SPARKHUB_SPARK_DRIVER_MEMORY", "")
    if driver_memory and not _SIZE_RE.match(driver_memory):
        raise ConfError(f"SPARKHUB_SPARK_DRIVER_MEMORY={driver_memory}: want a size such as 2g")
    conf("spark.driver.memory", driver_memory)

    exports = {}
    agent = env.get("SPARKHUB_AGENT_HOST", "")
    if not cluster and not agent:
        # Spark inside a server that may share its machine with other
        # users' servers: the driver and its UI listen on loopback only,
        # and its RPC asks for a secret only this server's account can
        # read (the file is its own, mode 0600).
        conf("spark.driver.host", "127.0.0.1")
        conf("spark.driver.bindAddress", "127.0.0.1")
        conf("spark.authenticate", "true")
        conf("spark.authenticate.secret", env.get("SPARKHUB_SPARK_SECRET", "") or secrets.token_hex(32))
        exports["SPARK_LOCAL_IP"] = "127.0.0.1"
    if agent:
        ports = [_port(env, name) for name in (
            "SPARKHUB_SPARK_DRIVER_PORT", "SPARKHUB_SPARK_BLOCKMANAGER_PORT", "SPARKHUB_SPARK_UI_PORT")]
        bind = env.get("SPARKHUB_SPARK_BIND_ADDRESS", "") or agent
        # The driver advertises the agent's address and binds the task's
        # own ports; a retry would move to a port that is not the task's,
        # so there is none.
        conf("spark.driver.host", agent)
        conf("spark.driver.bindAddress", bind)
        conf("spark.driver.port", ports[0])
        conf("spark.driver.blockManager.port", ports[1])
        conf("spark.ui.port", ports[2])
        conf("spark.port.maxRetries", "0")

        # libmesos in the driver: the master connects back to it.
        exports["LIBPROCESS_IP"] = env.get("LIBPROCESS_IP", "") or bind
        if env.get("LIBPROCESS_PORT"):
            exports["LIBPROCESS_PORT"] = _port(env, "LIBPROCESS_PORT")
        if exports["LIBPROCESS_IP"] == "0.0.0.0":
            exports["LIBPROCESS_ADVERTISE_IP"] = env.get("LIBPROCESS_ADVERTISE_IP", "") or agent
            if env.get("LIBPROCESS_PORT"):
                exports["LIBPROCESS_ADVERTISE_PORT"] = (
                    env.get("LIBPROCESS_ADVERTISE_PORT", "") or exports["LIBPROCESS_PORT"])

    # The profile's own settings, "key value" a line.
    for line in env.get("SPARKHUB_SPARK_CONF", "").split("\n"):
        if not line:
            continue
        key, _, value = line.partition(" ")
        if not key.startswith("spark.") or key == "spark.":
            raise ConfError(f'SPARKHUB_SPARK_CONF: "{key}" is not a Spark setting')
        if not value:
            raise ConfError(f"SPARKHUB_SPARK_CONF: {key} has no value")
        out.append(line)
    return out, exports


def slots(env):
    """The sets of ports (driver, block manager, UI, libprocess) of the
    Spark applications a server on Mesos may run, from
    SPARKHUB_SPARK_PORTS; [] when there is none (one application, on the
    single ports, or Spark not on an agent)."""
    value = env.get("SPARKHUB_SPARK_PORTS", "")
    out = []
    for i, one in enumerate(value.split()):
        ports = one.split(",")
        if len(ports) != 4:
            raise ConfError(f"SPARKHUB_SPARK_PORTS: {one}: want driver,blockmanager,ui,libprocess")
        out.append(tuple(_port({"p": p}, "p") for p in ports))
    return out


_SPARK_ENV = """# Written by sparkhub; Spark's launcher sources it before every driver.
# Each Spark application of this server takes one of the task's {count}
# sets of ports (slot-N), held while its driver runs: the lock is on fd 9,
# which the driver's JVM inherits.
if command -v flock >/dev/null 2>&1; then
	for sparkhub_slot in {numbers}; do
		exec 9>>{folder}/slot-$sparkhub_slot/lock
		if flock -n 9; then
			SPARK_CONF_DIR={folder}/slot-$sparkhub_slot
			. "$SPARK_CONF_DIR/libprocess.env"
			break
		fi
		exec 9>&-
		sparkhub_slot=
	done
	if [ -z "$sparkhub_slot" ]; then
		echo "sparkhub: this server runs {count} Spark applications already, as many as its task has ports for; shut down the kernel of one of them" >&2
		exit 1
	fi
	unset sparkhub_slot
fi
"""


def _write_file(path, text):
    """Replace path whole with text, readable by the server's account
    only."""
    tmp = path + ".tmp"
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _write_slots(env, folder):
    """Write a folder per set of ports and spark-env.sh choosing among
    them, or remove spark-env.sh when there are none."""
    sets = slots(env) if env.get("SPARKHUB_AGENT_HOST") else []
    env_sh = os.path.join(folder, "spark-env.sh")
    if not sets:
        try:
            os.unlink(env_sh)
        except FileNotFoundError:
            pass
        return
    for i, (driver, block_manager, ui, libprocess) in enumerate(sets):
        one = dict(env)
        one.update({
            "SPARKHUB_SPARK_DRIVER_PORT": driver, "SPARKHUB_SPARK_BLOCKMANAGER_PORT": block_manager,
            "SPARKHUB_SPARK_UI_PORT": ui, "LIBPROCESS_PORT": libprocess,
        })
        if env.get("LIBPROCESS_ADVERTISE_PORT"):
            one["LIBPROCESS_ADVERTISE_PORT"] = libprocess
        lines, exports = render(one)
        sub = os.path.join(folder, f"slot-{i}")
        os.makedirs(sub, exist_ok=True)
        _write_file(os.path.join(sub, "spark-defaults.conf"), "\n".join(lines) + "\n")
        _write_file(os.path.join(sub, "libprocess.env"), "".join(
            f"{k}={shlex.quote(exports[k])}\n" for k in sorted(exports) if k.startswith("LIBPROCESS_")))
    _write_file(env_sh, _SPARK_ENV.format(
        count=len(sets), numbers=" ".join(str(i) for i in range(len(sets))), folder=shlex.quote(folder)))


def conf_dir(env):
    """Where spark-defaults.conf goes for env (see the module's text)."""
    if env.get("SPARK_CONF_DIR"):
        return env["SPARK_CONF_DIR"]
    if env.get("SPARK_HOME"):
        return os.path.join(env["SPARK_HOME"], "conf")
    return os.path.join(os.path.expanduser("~"), ".sparkhub", "spark")


def write(env):
    """Render env's configuration into conf_dir(env) (replacing the file
    whole, so a reader never sees half of it) and return (folder, exports).
    """
    lines, exports = render(env)
    folder = conf_dir(env)
    os.makedirs(folder, exist_ok=True)
    # Only the server's account reads it: it may hold a secret.
    _write_file(os.path.join(folder, "spark-defaults.conf"), "\n".join(lines) + "\n")
    _write_slots(env, folder)
    return folder, exports


def apply(environ=None):
    """Write the configuration of a server of the hub's and put
    SPARK_CONF_DIR and the libmesos variables into environ (os.environ by
    default), for the kernels the server starts. Does nothing outside a
    server the hub started (no SPARKHUB_PROFILE)."""
    environ = os.environ if environ is None else environ
    if "SPARKHUB_PROFILE" not in environ:
        return None
    folder, exports = write(environ)
    environ["SPARK_CONF_DIR"] = folder
    environ.update(exports)
    return folder


def main(argv):
    """python -m sparkhub_contents.sparkconf: write the configuration for
    this environment; print the variables to export (libmesos', Spark's
    SPARK_LOCAL_IP) as NAME=VALUE lines."""
    try:
        _, exports = write(os.environ)
    except (ConfError, OSError) as e:
        print(f"sparkhub: {e}", file=sys.stderr)
        return 64
    for name in sorted(exports):
        print(f"{name}={exports[name]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
