"""A bare MLLP peer: python-hl7's asyncio server that only parses each message and ACKs it (AA).

No storage, no rules: the ceiling for "receive an HL7 v2 message over MLLP and answer it" in Python
on this machine, to put the service's throughput in proportion. Run as its own process, like the
service, so both are driven the same way over loopback:

    .venv/bin/python benchmarks/bare_peer.py --port 2599
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import hl7
import hl7.mllp


async def _handle(reader: hl7.mllp.HL7StreamReader, writer: hl7.mllp.HL7StreamWriter) -> None:
    try:
        while not reader.at_eof():
            message = await reader.readmessage()  # reads one MLLP block and runs hl7.parse on it
            writer.writemessage(message.create_ack("AA"))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(host: str, port: int) -> None:
    server = await hl7.mllp.start_hl7_server(_handle, host, port, encoding="utf-8")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"bare python-hl7 MLLP peer on {host}:{port}", flush=True)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
