"""Seed corpus for tests/fuzz/fuzz_torch_ckpt.c: small torch.save files.

    /usr/bin/python3 tests/fuzz/make_torch_ckpt_seeds.py
"""
import collections
import torch

OUT = "tests/fuzz/corpus/torch_ckpt"
torch.manual_seed(0)
w = torch.arange(12, dtype=torch.float32).reshape(3, 4)
torch.save({"w": w, "wt": w.t(), "tags": ["a", "b_(c)"]}, f"{OUT}/dict_view_tags.pt")
torch.save({"model": collections.OrderedDict(x=torch.ones(2, dtype=torch.float16), y=torch.zeros(1, dtype=torch.bfloat16))},
           f"{OUT}/nested_model.pt")
torch.save({"state_dict": {"e": torch.arange(3, dtype=torch.int64), "d": torch.ones(2, dtype=torch.float64)}},
           f"{OUT}/state_dict.pt")
