"""Seed corpus for tests/fuzz/fuzz_torch_ckpt.c: small torch.save and
torch.jit.save files (each under 64 KiB), among them the shapes that once
cost the reader most: many tensors on one storage, a storage shared by
tensors in a deflated archive, a TorchScript module whose submodule is
reached by two attributes.

    /usr/bin/python3 tests/fuzz/make_torch_ckpt_seeds.py
"""
import collections
import io
import zipfile

import torch
import torch.nn as nn

OUT = "tests/fuzz/corpus/torch_ckpt"
LIMIT = 64 << 10


def save(name, obj):
    path = f"{OUT}/{name}"
    torch.save(obj, path)
    with open(path, "rb") as f:
        data = f.read()
    assert len(data) <= LIMIT, (name, len(data))
    return data


def write(name, data):
    assert len(data) <= LIMIT, (name, len(data))
    with open(f"{OUT}/{name}", "wb") as f:
        f.write(data)


def deflated(data):
    """The same archive with every entry deflated (torch stores them)."""
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            copy = zipfile.ZipInfo(info.filename, info.date_time)
            copy.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(copy, src.read(info.filename))
    return out.getvalue()


class Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(2, 2)
        self.b = self.a  # one submodule under two names

    def forward(self, x):
        return self.b(self.a(x))


torch.manual_seed(0)
w = torch.arange(12, dtype=torch.float32).reshape(3, 4)
save("dict_view_tags.pt", {"w": w, "wt": w.t(), "tags": ["a", "b_(c)"]})
save("nested_model.pt", {"model": collections.OrderedDict(x=torch.ones(2, dtype=torch.float16),
                                                           y=torch.zeros(1, dtype=torch.bfloat16))})
save("state_dict.pt", {"state_dict": {"e": torch.arange(3, dtype=torch.int64), "d": torch.ones(2, dtype=torch.float64)}})

base = torch.arange(600, dtype=torch.float32)
views = {f"v{i}": base[i:i + 2] for i in range(300)}  # 300 tensors, one storage
save("many_views.pt", views)
write("shared_deflated.pt", deflated(save("shared.pt", {"a": base[:100], "b": base[50:], "c": base})))
save("tied.pt", {"enc.weight": w, "dec.weight": w, "tags": [f"tag_{i}" for i in range(2000)]})
save("dtypes.pt", {"i8": torch.tensor([-1, 2], dtype=torch.int8), "u8": torch.tensor([255], dtype=torch.uint8),
                   "b": torch.tensor([True, False]), "i16": torch.tensor([7], dtype=torch.int16),
                   "i32": torch.tensor([[1, 2]], dtype=torch.int32), "s": torch.tensor(3.5),
                   "empty": torch.zeros(0, 3)})
save("module_state.pt", nn.Sequential(nn.Linear(3, 2), nn.LayerNorm(2)).state_dict())
torch.jit.save(torch.jit.script(Pair()), f"{OUT}/script_shared.pt")
