"""The mini-ILSVRC's classes: real ILSVRC WNIDs with a synthetic look (shape, texture, palette) each.

The table is embedded, not read from class-metadata files, so the generator runs on a machine with no
ILSVRC material at all. Every WNID is both one of the 1000 ILSVRC2012 classification synsets and one
of the 200 ILSVRC2014 detection synsets, and ``words`` / ``det_name`` are copied from the real
``meta_clsloc.mat`` / ``meta_det.mat``. The table order is the mini's ILSVRC2012_ID order (1, 2, ...);
it is deliberately not sorted by WNID (the first two entries are already out of order), as the real
IDs are not, so a reader that confuses the ID with the sorted-WNID index fails on the mini too.
"""
from __future__ import annotations

from dataclasses import dataclass

# Shared colour pool (RGB). Each class draws mostly from three of these, and every colour serves
# several classes and the backgrounds, so colour alone does not give the class away.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (200, 35, 30), "orange": (240, 140, 25), "yellow": (235, 215, 45),
    "green": (45, 155, 55), "blue": (35, 85, 200), "purple": (130, 55, 160),
    "brown": (120, 72, 35), "white": (232, 232, 226), "black": (28, 28, 30),
    "pink": (238, 135, 170), "grey": (128, 128, 124),
}
TEXTURES = ("plain", "stripes", "dots", "checks")


@dataclass(frozen=True)
class MiniClass:
    """One synthetic class: its real identity and how its objects are drawn."""
    wnid: str
    words: str          # the synset's words as in meta_clsloc.mat
    det_name: str       # the synset's name as in meta_det.mat
    shape: str          # key of repro.data.mini.shapes.SHAPES
    texture: str        # preferred body texture (one of TEXTURES)
    palette: tuple[str, str, str]  # preferred colours (keys of COLOURS): two body colours, one accent

    @property
    def looks(self) -> str:
        """A one-line description of the synthetic look (written as the synset's gloss)."""
        return (f"mini-ILSVRC synthetic stand-in: {self.shape.replace('_', ' ')} shape, mostly "
                f"{self.texture} texture in {', '.join(self.palette)}")


MINI_CLASSES: tuple[MiniClass, ...] = (
    MiniClass("n07753592", "banana", "banana", "crescent", "plain", ("yellow", "green", "brown")),
    MiniClass("n02317335", "starfish, sea star", "starfish", "star", "dots", ("orange", "red", "purple")),
    MiniClass("n04254680", "soccer ball", "soccer ball", "soccer_ball", "plain", ("white", "grey", "black")),
    MiniClass("n06874185", "traffic light, traffic signal, stoplight", "traffic light", "traffic_light",
              "plain", ("black", "grey", "yellow")),
    MiniClass("n03255030", "dumbbell", "dumbbell", "dumbbell", "stripes", ("grey", "black", "red")),
    MiniClass("n01443537", "goldfish, Carassius auratus", "goldfish", "fish", "plain",
              ("orange", "yellow", "black")),
    MiniClass("n04591713", "wine bottle", "wine bottle", "bottle", "plain", ("green", "brown", "white")),
    MiniClass("n02883205", "bow tie, bow-tie, bowtie", "bow tie", "bow_tie", "checks", ("red", "blue", "black")),
    MiniClass("n07693725", "bagel, beigel", "bagel", "ring", "dots", ("brown", "orange", "white")),
    MiniClass("n07734744", "mushroom", "mushroom", "mushroom", "dots", ("red", "brown", "white")),
    MiniClass("n03481172", "hammer", "hammer", "hammer", "plain", ("brown", "grey", "black")),
    MiniClass("n07873807", "pizza, pizza pie", "pizza", "wedge", "dots", ("yellow", "red", "orange")),
    MiniClass("n03400231", "frying pan, frypan, skillet", "frying pan", "pan", "plain", ("black", "grey", "brown")),
    MiniClass("n01944390", "snail", "snail", "snail", "stripes", ("brown", "pink", "grey")),
    MiniClass("n02672831", "accordion, piano accordion, squeeze box", "accordion", "accordion", "stripes",
              ("red", "black", "white")),
    MiniClass("n03642806", "laptop, laptop computer", "laptop", "laptop", "plain", ("grey", "black", "blue")),
    MiniClass("n02165456", "ladybug, ladybeetle, lady beetle, ladybird, ladybird beetle", "ladybug",
              "beetle", "dots", ("red", "black", "orange")),
    MiniClass("n01910747", "jellyfish", "jellyfish", "jellyfish", "stripes", ("pink", "purple", "blue")),
    MiniClass("n02391049", "zebra", "zebra", "quadruped", "stripes", ("white", "black", "grey")),
    MiniClass("n07745940", "strawberry", "strawberry", "berry", "dots", ("red", "pink", "green")),
)
