"""The torchvision peer, run as a script by an interpreter that has torch and torchvision.

It imports nothing from this project (that interpreter may not have MXNet or GluonCV, and GluonCV
0.10.5 refuses to import beside torch >= 2). It evaluates torchvision's ``googlenet`` (random
weights, no aux heads) on the listed images as torchvision's reference scripts do: PIL decode,
Resize (shorter side), CenterCrop, ToTensor, Normalize, a DataLoader with worker processes, eval
mode, ``torch.inference_mode``, softmax. It prints one JSON line: the rates of the timed passes.
"""
from __future__ import annotations

import argparse
import json
import os
import time


def main() -> None:
    """Parse the options, run warm-up and timed passes, print the JSON result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--list", required=True, help="text file, one image path per line")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--resize", type=int, default=256)
    parser.add_argument("--channels-last", action="store_true")
    args = parser.parse_args()

    import torch
    import torchvision
    from PIL import Image
    from torchvision import transforms

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    paths = open(args.list).read().split("\n")[:-1]
    transform = transforms.Compose([
        transforms.Resize(args.resize), transforms.CenterCrop(args.size), transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])

    class Images(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(paths)

        def __getitem__(self, item: int):
            with Image.open(paths[item]) as image:
                return transform(image.convert("RGB"))

    model = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True).eval()
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)

    def one_pass() -> float:
        loader = torch.utils.data.DataLoader(Images(), batch_size=args.batch, num_workers=args.workers)
        start = time.perf_counter()
        with torch.inference_mode():
            for batch in loader:
                torch.softmax(model(batch.to(memory_format=memory_format)), dim=1).numpy()
        return len(paths) / (time.perf_counter() - start)

    for _ in range(args.warmup):
        one_pass()
    load = round(os.getloadavg()[0], 2)
    rates = [one_pass() for _ in range(args.repeats)]
    print(json.dumps({"rates": rates, "load": load, "torch": torch.__version__,
                      "torchvision": torchvision.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
