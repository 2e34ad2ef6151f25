"""Zero-shot product category: the ImageNet head's 1000 classes grouped into a coarse taxonomy.

No training data is needed: the category probability is the pretrained softmax summed over each
group, done in the graph as ``softmax(logits) @ M`` with a constant 1000 x C 0/1 matrix ``M``.
Every ImageNet class belongs to exactly one group; classes that are not products of the
catalog's kinds (animals, vehicles, food, scenery ...) fall in "other".

The class names beside the indices are ImageNet's synset short names, kept here only so the
grouping can be read and reviewed; the model uses the indices.
"""
from __future__ import annotations

import numpy as np

NUM_CLASSES = 1000
OTHER = "other"

# label -> {ImageNet index: short name}. Order of this dict is the output order.
GROUPS: dict[str, dict[int, str]] = {
    "furniture": {
        423: "barber chair", 431: "bassinet", 453: "bookcase", 492: "chest", 493: "chiffonier",
        495: "china cabinet", 516: "cradle", 520: "crib", 526: "desk", 532: "dining table",
        548: "entertainment center", 559: "folding chair", 564: "four-poster", 648: "medicine chest",
        703: "park bench", 765: "rocking chair", 831: "studio couch", 857: "throne", 894: "wardrobe",
    },
    "lighting": {
        470: "candle", 619: "lampshade", 818: "spotlight", 846: "table lamp", 862: "torch",
    },
    "home_decor": {
        409: "analog clock", 435: "bathtub", 494: "chime", 530: "digital clock", 556: "fire screen",
        588: "hamper", 604: "hourglass", 719: "piggy bank", 790: "shopping basket",
        794: "shower curtain", 854: "theater curtain", 861: "toilet seat", 876: "tub", 883: "vase",
        892: "wall clock", 896: "washbasin", 904: "window screen", 905: "window shade",
        753: "radiator", 804: "soap dispenser",
    },
    "textiles": {
        434: "bath towel", 533: "dishrag", 539: "doormat", 591: "handkerchief", 721: "pillow",
        741: "prayer rug", 750: "quilt", 797: "sleeping bag", 885: "velvet", 911: "wool",
    },
    "kitchen_tableware": {
        440: "beer bottle", 441: "beer glass", 469: "caldron", 473: "can opener", 499: "cleaver",
        503: "cocktail shaker", 504: "coffee mug", 505: "coffeepot", 512: "corkscrew",
        521: "Crock Pot", 534: "dishwasher", 544: "Dutch oven", 550: "espresso maker",
        567: "frying pan", 572: "goblet", 618: "ladle", 647: "measuring cup", 651: "microwave",
        653: "milk can", 659: "mixing bowl", 725: "pitcher", 729: "plate rack", 738: "pot",
        760: "refrigerator", 766: "rotisserie", 773: "saltshaker", 809: "soup bowl", 813: "spatula",
        827: "stove", 828: "strainer", 849: "teapot", 859: "toaster", 868: "tray",
        891: "waffle iron", 898: "water bottle", 899: "water jug", 901: "whiskey jug",
        907: "wine bottle", 909: "wok", 910: "wooden spoon", 923: "plate", 967: "espresso",
        968: "cup",
    },
    "electronics": {
        482: "cassette player", 485: "CD player", 487: "cellular telephone",
        508: "computer keyboard", 527: "desktop computer", 528: "dial telephone", 545: "electric fan",
        589: "hand blower", 590: "hand-held computer", 592: "hard disc", 598: "home theater",
        605: "iPod", 606: "iron", 613: "joystick", 620: "laptop", 632: "loudspeaker", 662: "modem",
        664: "monitor", 673: "mouse", 681: "notebook", 713: "photocopier", 732: "Polaroid camera",
        742: "printer", 745: "projector", 754: "radio", 759: "reflex camera",
        761: "remote control", 782: "screen", 811: "space heater", 848: "tape player",
        851: "television", 878: "typewriter keyboard", 882: "vacuum", 897: "washer",
    },
    "apparel": {
        399: "abaya", 400: "academic gown", 411: "apron", 414: "backpack", 433: "bathing cap",
        445: "bikini", 451: "bolo tie", 452: "bonnet", 457: "bow tie", 459: "brassiere",
        474: "cardigan", 501: "cloak", 502: "clog", 514: "cowboy boot", 515: "cowboy hat",
        552: "feather boa", 568: "fur coat", 578: "gown", 584: "hair slide", 601: "hoopskirt",
        608: "jean", 610: "jersey", 614: "kimono", 617: "lab coat", 630: "Loafer",
        638: "maillot", 639: "maillot (tank suit)", 652: "military uniform", 655: "miniskirt",
        658: "mitten", 667: "mortarboard", 679: "necklace", 689: "overskirt", 697: "pajama",
        735: "poncho", 748: "purse", 770: "running shoe", 774: "sandal", 775: "sarong",
        793: "shower cap", 796: "ski mask", 806: "sock", 808: "sombrero", 824: "stole",
        834: "suit", 836: "sunglass", 837: "sunglasses", 841: "sweatshirt",
        842: "swimming trunks", 869: "trench coat", 887: "vestment", 893: "wallet",
        906: "Windsor tie",
    },
}
LABELS: tuple[str, ...] = (*GROUPS, OTHER)
SOURCE = "EfficientNet-Lite0 ImageNet-1k head (pretrained, not fine-tuned): softmax summed per group"


def group_indices() -> dict[str, list[int]]:
    """label -> sorted ImageNet indices, "other" included (every index in exactly one group)."""
    named = {k: sorted(v) for k, v in GROUPS.items()}
    taken = {i for idx in named.values() for i in idx}
    named[OTHER] = [i for i in range(NUM_CLASSES) if i not in taken]
    return named


def grouping_matrix() -> np.ndarray:
    """(1000, C) float32 0/1 matrix: column c sums the ImageNet probabilities of group c."""
    m = np.zeros((NUM_CLASSES, len(LABELS)), dtype=np.float32)
    for c, label in enumerate(LABELS):
        m[group_indices()[label], c] = 1.0
    return m


def markdown_table() -> str:
    """The grouping as a Markdown table (README)."""
    rows = ["| category | ImageNet classes |", "| --- | --- |"]
    for label, members in GROUPS.items():
        rows.append(f"| {label} | " + ", ".join(f"{name} ({i})" for i, name in sorted(members.items())) + " |")
    rows.append(f"| {OTHER} | the remaining {NUM_CLASSES - sum(map(len, GROUPS.values()))} classes |")
    return "\n".join(rows)
