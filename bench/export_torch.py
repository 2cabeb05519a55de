"""Runs a wasmnist PyTorch export (a folder with model.py and model.safetensors) on raw pixels.

    python bench/export_torch.py EXPORT_DIR PIXELS.f32 N PROBS_OUT.f32

PIXELS.f32 holds N float32 images (N, C, H, W) of 0..255 values; PROBS_OUT.f32 receives the
model's (N, classes) probabilities. Called by bench/export_accuracy.ts; it is what a PyTorch user
does: model = build(); model.load_state_dict(load_file(...)).
"""
import importlib.util
import os
import sys

import numpy as np
import torch
from safetensors.torch import load_file

folder, pixels_path, n, out_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
spec = importlib.util.spec_from_file_location("exported_model", os.path.join(folder, "model.py"))
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
model = mod.build()
model.load_state_dict(load_file(os.path.join(folder, "model.safetensors")))  # strict: every name must match
model.eval()
x = torch.from_numpy(np.fromfile(pixels_path, dtype=np.float32).reshape(n, *mod.INPUT_SHAPE))
with torch.no_grad():
    probs = torch.cat([model(x[s:s + 1000]) for s in range(0, n, 1000)])
probs.numpy().astype(np.float32).tofile(out_path)
