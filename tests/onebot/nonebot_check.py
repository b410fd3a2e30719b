"""NoneBot2 + nonebot-adapter-onebot as a real OneBot v11 application, to check qunzhu's
implementation-side test peer against (crates/connectors/tests/nonebot.rs runs this).

Usage: nonebot_check.py PORT ACCESS_TOKEN OUT_FILE

Listens on 127.0.0.1:PORT with the reverse-WebSocket endpoint /onebot/v11/ws. Every group
message event NoneBot parses is written to OUT_FILE as one JSON line (what NoneBot made of
it), and answered with a reply that mentions the sender: NoneBot then calls
`send_group_msg` on the peer.
"""

import json
import sys

import nonebot
from nonebot import on_message
from nonebot.adapters.onebot.v11 import Adapter, Bot, GroupMessageEvent, Message, MessageSegment

port, token, out_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]

nonebot.init(
    driver="~fastapi",
    host="127.0.0.1",
    port=port,
    onebot_access_token=token,
    log_level="INFO",
)
nonebot.get_driver().register_adapter(Adapter)

matcher = on_message(priority=1, block=True)


@matcher.handle()
async def answer(bot: Bot, event: GroupMessageEvent):
    seen = {
        "self_id": event.self_id,
        "group_id": event.group_id,
        "user_id": event.user_id,
        "message_id": event.message_id,
        "role": event.sender.role,
        "nickname": event.sender.nickname,
        "plain_text": event.get_plaintext(),
        "segments": [{"type": s.type, "data": {k: str(v) for k, v in s.data.items()}} for s in event.message],
        "to_me": event.to_me,
    }
    with open(out_file, "a", encoding="utf-8") as out:
        out.write(json.dumps(seen, ensure_ascii=False) + "\n")
    # An explicit send_group_msg (matcher.send would use the generic send_msg), and its
    # answer read back: NoneBot raises if the peer's answer is not well-formed.
    sent = await bot.send_group_msg(
        group_id=event.group_id,
        message=MessageSegment.at(event.user_id) + Message(" 收到：") + event.get_plaintext(),
    )
    with open(out_file + ".answers", "a", encoding="utf-8") as out:
        out.write(json.dumps(sent) + "\n")


if __name__ == "__main__":
    nonebot.run()
