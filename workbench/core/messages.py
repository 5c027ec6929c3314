"""Chat messages as the chat template sees them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}

    @classmethod
    def from_dict(cls, data: dict) -> ChatMessage:
        return cls(role=data["role"], content=data["content"])


def conversation(user: str, system: str | None = None) -> list[ChatMessage]:
    messages = [ChatMessage("system", system)] if system else []
    messages.append(ChatMessage("user", user))
    return messages
