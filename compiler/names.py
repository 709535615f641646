"""Identifiers for generated code: the model name and each feature's C and SQL name.

Feature names can be anything (spaces, quotes, keywords, non-ASCII); generated
identifiers are built only from [a-z0-9_], never collide, and are never a keyword.
"""

from __future__ import annotations

import keyword
import re
import unicodedata

C_KEYWORDS = frozenset("""
auto break case char const continue default do double else enum extern float for goto if
inline int long register restrict return short signed sizeof static struct switch typedef
union unsigned void volatile while _Bool _Complex _Imaginary bool true false NULL NAN
INFINITY errno assert main
and and_eq asm bitand bitor catch class compl concept const_cast consteval constexpr constinit
co_await co_return co_yield decltype delete dynamic_cast explicit export friend mutable
namespace new noexcept not not_eq nullptr operator or or_eq private protected public
reinterpret_cast requires static_assert static_cast template this thread_local throw try
typeid typename using virtual wchar_t xor xor_eq char8_t char16_t char32_t alignas alignof
math_errhandling linux unix i386 offsetof stdin stdout stderr
""".split())  # C99 and C++ keywords, and lower-case macros a host may have defined

SQL_KEYWORDS = frozenset("""
all analyse analyze and any array as asc asymmetric between both by case cast check collate
column constraint create cross default deferrable desc distinct do else end except false fetch
for foreign from grant group having in initially inner intersect into is join lateral leading
left like limit localtime localtimestamp not null offset on only or order outer primary
references returning right select session_user some symmetric table then to trailing true
union unique using variadic when where window with lambda macro struct map qualify pivot
unpivot describe show summarize placing pivot_longer pivot_wider
""".split())


def identifier(text: str, fallback: str = "f") -> str:
    """A lower-case [a-z0-9_] identifier derived from `text`, starting with a letter."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    ident = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    if not ident:
        ident = fallback
    if not ident[0].isalpha():
        ident = f"{fallback}_{ident}"
    return ident


def model_name(stem: str) -> str:
    """A NAME valid in Python, C and SQL, and not a keyword in any of them."""
    name = identifier(stem, "model")
    if name in C_KEYWORDS or name in SQL_KEYWORDS or keyword.iskeyword(name):
        name += "_model"
    return name


def unique_identifiers(names: list[str], reserved: frozenset[str]) -> list[str]:
    """One identifier per name: sanitized, not reserved, distinct."""
    out: list[str] = []
    used: set[str] = set()
    for i, name in enumerate(names):
        base = identifier(name, f"x{i}")
        if base in reserved or keyword.iskeyword(base):
            base += "_"
        cand, n = base, 2
        while cand in used:
            cand, n = f"{base}_{n}", n + 1
        used.add(cand)
        out.append(cand)
    return out


def c_names(names: list[str]) -> list[str]:
    return unique_identifiers(names, C_KEYWORDS)


def sql_names(names: list[str]) -> list[str]:
    return unique_identifiers(names, SQL_KEYWORDS)
