"""How far a title window is from a brand name: a weighted edit alignment, character by
character, where a substitution costs one minus the characters' similarity (chars.py), a
Chinese substitution by an unrelated character costs extra, and an inserted character, a
character split into its two components and two swapped Latin letters have their own costs;
and the alignment's differences in words, as a flag explains them."""

from __future__ import annotations

from functools import lru_cache
from heapq import heappop, heappush

from matchers.chars import char_similarity, components, identical

INSERT_COST = 0.5  # a title character the name does not have (六个土核桃)
DELETE_COST = 0.6  # a name character the title leaves out
TRANSPOSE_COST = 0.5  # two neighbouring Latin letters swapped (Hiaer)
SPLIT_COST = 0.15  # one name character written as its two components (雕 → 周住), plus their unlikeness
UNRELATED_PENALTY = 0.5  # added to a Chinese substitution by a character that is not alike
ALIKE = 0.5  # character similarity from which a substitution is an imitation
SUBSTITUTED = "→"  # marks a substitution in an alignment's differences


def latin_cost(a: str, b: str) -> float:
    return 1.0 - char_similarity(a, b)


def han_cost(a: str, b: str) -> float:
    similarity = char_similarity(a, b)
    return 1.0 - similarity + (UNRELATED_PENALTY if similarity < ALIKE else 0.0)


_ORDER = {"sub": 0, "ins": 1, "del": 2, "swap": 3, "split": 4}  # ties go to the first of these


def align(name: str, window: str, floor: float = 0.0) -> tuple[float, tuple[str, ...]]:
    """(similarity 0-1, differences in words) of a title window against a name (see align_moves)."""
    score, moves = align_moves(name, window, floor)
    return score, describe(name, window, tuple(moves))


Move = tuple[str, int, int]  # (kind, place in the name, place in the window); kinds as _ORDER


def align_moves(name: str, window: str, floor: float = 0.0) -> tuple[float, tuple[Move, ...]]:
    """(similarity 0-1, moves) of a title window against a name, by weighted edit alignment.

    The cheapest alignment is found by expanding the cheapest cell first (Dijkstra over the edit
    grid), so a close imitation costs the similarity of about one character pair per name
    character, not of every pair: working out a pair's similarity is what is costly. With a
    `floor`, a window scoring below it is abandoned as soon as that is certain and scores
    (0.0, ()). Of equally cheap alignments, the one a row-by-row dynamic programme would keep
    (first source cell, then _ORDER) is reported, so the differences are stable.
    """
    n, m = len(name), len(window)
    if not n:
        return 0.0, ()
    latin = name.isascii()
    sub = latin_cost if latin else han_cost
    budget = (1.0 - floor) * n + 1e-9 if floor > 0 else float("inf")  # 1e-9: float sums at the floor
    cost: dict[tuple[int, int], float] = {(0, 0): 0.0}
    step: dict[tuple[int, int], tuple[str, int, int]] = {}
    heap = [(0.0, 0, 0)]
    done: set[tuple[int, int]] = set()

    def relax(target: tuple[int, int], c: float, kind: str, i: int, j: int) -> None:
        old = cost.get(target)
        if old is None or c < old:
            cost[target], step[target] = c, (kind, i, j)
            heappush(heap, (c, *target))
        elif c == old:
            k, pi, pj = step[target]
            if (i, j, _ORDER[kind]) < (pi, pj, _ORDER[k]):
                step[target] = (kind, i, j)

    while True:
        here, i, j = heappop(heap)
        if (i, j) in done:
            continue
        if here > budget:
            return 0.0, ()
        if i == n and j == m:
            break
        done.add((i, j))
        if i < n and j < m:
            relax((i + 1, j + 1), here + (0.0 if name[i] == window[j] else sub(name[i], window[j])), "sub", i, j)
        if j < m and i > 0:
            relax((i, j + 1), here + INSERT_COST, "ins", i, j)
        if i < n:
            relax((i + 1, j), here + DELETE_COST, "del", i, j)
        if latin and i + 1 < n and j + 1 < m and name[i] == window[j + 1] and name[i + 1] == window[j]:
            relax((i + 2, j + 2), here + TRANSPOSE_COST, "swap", i, j)  # Hiaer for Haier
        if not latin and i < n and j + 1 < m:
            parts = components(name[i])
            # One component written exactly and the other alike (雕 → 周住, 沃 → 氵天): a
            # looser split would find "components" in any two neighbouring characters.
            # (identical() first: most neighbouring pairs are no split, and are never scored.)
            if len(parts) != 2:
                first = second = 0.0
            elif identical(parts[0], window[j]):
                first, second = 1.0, char_similarity(parts[1], window[j + 1])
            elif identical(parts[1], window[j + 1]):
                first, second = char_similarity(parts[0], window[j]), 1.0
            else:
                first = second = 0.0
            if max(first, second) == 1.0 and min(first, second) >= ALIKE:
                relax((i + 1, j + 2), here + SPLIT_COST + (2 - first - second) / 2, "split", i, j)
    moves = []
    i, j = n, m
    while (i, j) in step:
        moves.append(step[(i, j)])
        i, j = moves[-1][1:]
    score = max(0.0, 1.0 - here / n)
    if score < floor:
        return 0.0, ()
    return score, tuple(reversed(moves))


@lru_cache(maxsize=4096)
def describe(name: str, window: str, moves: tuple) -> tuple[str, ...]:
    """An alignment's moves ((kind, name place, window place), in order) in words."""
    differences = []
    for kind, i, j in moves:
        if kind == "sub" and name[i] != window[j]:
            differences.append(f"{name[i]}{SUBSTITUTED}{window[j]}（相似度{char_similarity(name[i], window[j]):.2f}）")
        elif kind == "ins":
            differences.append(f"插入“{window[j]}”")
        elif kind == "del":
            differences.append(f"缺少“{name[i]}”")
        elif kind == "split":
            differences.append(f"{name[i]}拆为“{window[j:j + 2]}”")
        elif kind == "swap":
            differences.append(f"“{name[i:i + 2]}”换位为“{window[j:j + 2]}”")
    return tuple(differences)
