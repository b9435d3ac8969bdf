"""The preset zlib dictionary stored blobs are compressed with (format 1). Never edit it.

A message or a checkpoint is a few hundred bytes, too short for zlib to learn its own
structure: the msgpack framing LangGraph's serializer writes around every LangChain message
(module and class names, ``additional_kwargs``, ``response_metadata``, ``tool_calls``, ...)
and a checkpoint's keys cost ~120 bytes per blob compressed without help. A preset
dictionary holding that framing (serialized empty messages and a small checkpoint; no user
text) lets each blob refer to it instead: a 715-byte AI message stores as 353 bytes instead
of 471, a 178-byte checkpoint as 64 instead of 178.

A blob says itself which dictionary it needs: since checkpoint schema step 0003 by its first
byte (`_lists._DEFLATE_1`: raw deflate with this dictionary), before that by the zlib header
carrying the dictionary's Adler-32 (`DICTIONARY_ID`); blobs written before the dictionary
still read. Changing these bytes would make every stored blob unreadable: a new dictionary
must be added beside this one, under its own framing byte.
"""

from __future__ import annotations

import zlib

DICTIONARY = (
    b"\x84\xa1v\x04\xa2ts\xd9 2026-01-01T00:00:00.000000+00:00\xadversio"
    b"ns_seen\x83\xa9__input__\x80\xa9__start__\x81\xa9__start__\xb30000000"
    b"001.00000000\xa5agent\x81\xafbranch:to:agent\xb30000000001.0"
    b"0000000\xb0updated_channels\x91\xa8messages\xc7\xad\x05\x94\xbelangchain"
    b"_core.messages.system\xadSystemMessage\x86\xa7content\xa0\xb1ad"
    b"ditional_kwargs\x80\xb1response_metadata\x80\xa4type\xa6system\xa4"
    b"name\xc0\xa2id\xd9$00000000-0000-0000-0000-000000000000\xb3m"
    b"odel_validate_json\xc7\xf7\x05\x94\xbclangchain_core.messages.t"
    b"ool\xabToolMessage\x89\xa7content\xa0\xb1additional_kwargs\x80\xb1res"
    b"ponse_metadata\x80\xa4type\xa4tool\xa4name\xa4tool\xa2id\xd9$00000000"
    b"-0000-0000-0000-000000000000\xactool_call_id\xd9$00000"
    b"000-0000-0000-0000-000000000000\xa8artifact\xc0\xa6status"
    b"\xa7success\xb3model_validate_json\xc7\xaa\x05\x94\xbdlangchain_core."
    b"messages.human\xacHumanMessage\x86\xa7content\xa0\xb1additional"
    b"_kwargs\x80\xb1response_metadata\x80\xa4type\xa5human\xa4name\xc0\xa2id\xd9"
    b"$00000000-0000-0000-0000-000000000000\xb3model_vali"
    b"date_json\xc8\x01E\x05\x94\xbalangchain_core.messages.ai\xa9AIMess"
    b"age\x89\xa7content\xa0\xb1additional_kwargs\x80\xb1response_metada"
    b"ta\x80\xa4type\xa2ai\xa4name\xc0\xa2id\xd9$00000000-0000-0000-0000-00"
    b"0000000000\xaatool_calls\x91\x84\xa4name\xa4tool\xa4args\x80\xa2id\xd9$0000"
    b"0000-0000-0000-0000-000000000000\xa4type\xa9tool_call\xb2"
    b"invalid_tool_calls\x90\xaeusage_metadata\x83\xacinput_tokens"
    b"\x00\xadoutput_tokens\x00\xactotal_tokens\x00\xb3model_validate_js"
    b"on\xc7\xd1\x05\x94\xbalangchain_core.messages.ai\xa9AIMessage\x89\xa7con"
    b"tent\xa0\xb1additional_kwargs\x80\xb1response_metadata\x80\xa4type"
    b"\xa2ai\xa4name\xc0\xa2id\xd9$00000000-0000-0000-0000-0000000000"
    b"00\xaatool_calls\x90\xb2invalid_tool_calls\x90\xaeusage_metadat"
    b"a\xc0\xb3model_validate_json"
)
DICTIONARY_ID = zlib.adler32(DICTIONARY)
assert DICTIONARY_ID == 0xD4E5F1DF, "the stored blobs' dictionary was edited"
