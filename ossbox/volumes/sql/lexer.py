"""Tokens of a MaxCompute statement, each with its place (offset, line, column) for error messages."""

from __future__ import annotations

from dataclasses import dataclass

from ossbox.volumes.errors import VolumeError

IDENT, STRING, NUMBER, OP, EOF = "ident", "string", "number", "op", "eof"
_OPS = ("<=", ">=", "<>", "!=", "==", "||")


@dataclass(frozen=True)
class Token:
    kind: str
    value: str  # identifiers as written (compare with .lower()), strings unquoted
    start: int
    end: int
    quoted: bool = False  # a `backquoted` identifier

    def is_word(self, *words: str) -> bool:
        return self.kind == IDENT and not self.quoted and self.value.lower() in words


def position(text: str, offset: int) -> tuple[int, int]:
    """(line, column), both 1-based, of an offset."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def syntax_error(text: str, offset: int, message: str) -> VolumeError:
    line, column = position(text, offset)
    return VolumeError("SyntaxError", message, 400, line, column)


def tokenize(text: str) -> list[Token]:
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif text.startswith("--", i):
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            if close < 0:
                raise syntax_error(text, i, "unterminated comment")
            i = close + 2
        elif ch.isalpha() or ch in "_$":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] in "_$"):
                j += 1
            out.append(Token(IDENT, text[i:j], i, j))
            i = j
        elif ch == "`":
            close = text.find("`", i + 1)
            if close < 0:
                raise syntax_error(text, i, "unterminated `identifier`")
            out.append(Token(IDENT, text[i + 1 : close], i, close + 1, quoted=True))
            i = close + 1
        elif ch in "'\"":
            j, value = i + 1, []
            while j < n and text[j] != ch:
                if text[j] == "\\" and j + 1 < n:
                    value.append({"n": "\n", "t": "\t", "r": "\r", "0": "\0"}.get(text[j + 1], text[j + 1]))
                    j += 2
                else:
                    value.append(text[j])
                    j += 1
            if j >= n:
                raise syntax_error(text, i, "unterminated string")
            out.append(Token(STRING, "".join(value), i, j + 1))
            i = j + 1
        elif ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isdigit()):
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "."):
                j += 1
            out.append(Token(NUMBER, text[i:j], i, j))
            i = j
        else:
            op = next((o for o in _OPS if text.startswith(o, i)), ch)
            out.append(Token(OP, op, i, i + len(op)))
            i += len(op)
    out.append(Token(EOF, "", n, n))
    return out
