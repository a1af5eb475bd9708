"""MLLP transport: framing, an asyncio server and clients. Knows nothing of HL7 content, storage or HTTP."""

from integrations.mllp.client import AsyncMLLPClient, MLLPClient, MLLPConnectionClosed
from integrations.mllp.framing import (
    DEFAULT_MAX_MESSAGE_BYTES,
    END_BLOCK,
    START_BLOCK,
    FrameDecoder,
    FrameTooLarge,
    frame,
    split_file,
)
from integrations.mllp.server import Handler, MLLPServer, OversizeResponder, PeerInfo

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "END_BLOCK",
    "START_BLOCK",
    "AsyncMLLPClient",
    "FrameDecoder",
    "FrameTooLarge",
    "Handler",
    "MLLPClient",
    "MLLPConnectionClosed",
    "MLLPServer",
    "OversizeResponder",
    "PeerInfo",
    "frame",
    "split_file",
]
