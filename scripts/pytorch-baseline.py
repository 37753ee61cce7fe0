#!/usr/bin/env python3
"""What a user would otherwise run: the dense models of `pixelfly-bench reproduce` in PyTorch on
the CPU, timing one training step (forward, cross-entropy, backward, clipping, AdamW) at a given
thread count.

    python3 scripts/pytorch-baseline.py --model gpt --width 256 --depth 4 --heads 4 --hidden 1024 \
        --context 128 --batch 16 --threads 2

prints one JSON object: the model, its parameter count, the median/quartile step seconds over
--steps timed steps after --warmup untimed ones, torch's version and threads.

With --step-gate N it takes turns with the library's trainings (`pixelfly-bench`'s
InterleavedChildTrainings, the protocol of `train --step-gate`): before every N-th step (from
the first warm-up step) it prints `pixelfly-step-gate STEP` and waits for one line on standard
input. It then runs until standard input ends at a gate (the parent's trainings are done), times
every step after the warm-up ones, and prints the JSON object; --steps is not used. The models mirror
Sources/PixelflyModels (pre-norm blocks, GELU MLPs, LayerNorm ε 1e-5, tied GPT head, class-token ViT,
mean-pooled Mixer with a token-mixing MLP); inputs are random (only time is measured). Needs
`pip install torch` (CPU wheel: `pip install torch --index-url https://download.pytorch.org/whl/cpu`).
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class MLP(nn.Module):
    def __init__(self, width, hidden):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(width, hidden), nn.Linear(hidden, width)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class Attention(nn.Module):
    """q, k, v and output projections as four linears (as in the library), scaled dot-product scores."""

    def __init__(self, width, heads, causal):
        super().__init__()
        self.heads, self.causal = heads, causal
        self.q, self.k, self.v, self.out = (nn.Linear(width, width) for _ in range(4))

    def forward(self, x):
        b, t, d = x.shape
        split = lambda y: y.view(b, t, self.heads, d // self.heads).transpose(1, 2)
        y = F.scaled_dot_product_attention(split(self.q(x)), split(self.k(x)), split(self.v(x)), is_causal=self.causal)
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class TransformerBlock(nn.Module):
    def __init__(self, width, heads, hidden, causal):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attention, self.mlp = Attention(width, heads, causal), MLP(width, hidden)

    def forward(self, x):
        x = x + self.attention(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class GPT(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.embedding = nn.Embedding(256, a.width)
        self.positions = nn.Parameter(torch.zeros(a.context, a.width))
        self.blocks = nn.Sequential(*(TransformerBlock(a.width, a.heads, a.hidden, True) for _ in range(a.depth)))
        self.norm = nn.LayerNorm(a.width)

    def forward(self, tokens):
        h = self.norm(self.blocks(self.embedding(tokens) + self.positions))
        return h @ self.embedding.weight.t()


def patchify(images, patch):
    b = images.shape[0]
    g = 28 // patch
    return images.view(b, g, patch, g, patch).permute(0, 1, 3, 2, 4).reshape(b, g * g, patch * patch)


class ViT(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.patch = a.patch
        tokens = (28 // a.patch) ** 2 + 1
        self.embedding = nn.Linear(a.patch * a.patch, a.width)
        self.class_token = nn.Parameter(torch.zeros(1, 1, a.width))
        self.positions = nn.Parameter(torch.zeros(tokens, a.width))
        self.blocks = nn.Sequential(*(TransformerBlock(a.width, a.heads, a.hidden, False) for _ in range(a.depth)))
        self.norm, self.head = nn.LayerNorm(a.width), nn.Linear(a.width, 10)

    def forward(self, images):
        x = self.embedding(patchify(images, self.patch))
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1) + self.positions
        return self.head(self.norm(self.blocks(x))[:, 0])


class MixerBlock(nn.Module):
    def __init__(self, tokens, width, token_hidden, channel_hidden):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.token_mixing, self.channel_mixing = MLP(tokens, token_hidden), MLP(width, channel_hidden)

    def forward(self, x):
        x = x + self.token_mixing(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.channel_mixing(self.norm2(x))


class Mixer(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.patch = a.patch
        tokens = (28 // a.patch) ** 2
        self.embedding = nn.Linear(a.patch * a.patch, a.width)
        self.blocks = nn.Sequential(*(MixerBlock(tokens, a.width, a.token_hidden, a.hidden) for _ in range(a.depth)))
        self.norm, self.head = nn.LayerNorm(a.width), nn.Linear(a.width, 10)

    def forward(self, images):
        return self.head(self.norm(self.blocks(self.embedding(patchify(images, self.patch)))).mean(dim=1))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=["gpt", "vit", "mixer"], required=True)
    p.add_argument("--width", type=int, required=True)
    p.add_argument("--depth", type=int, required=True)
    p.add_argument("--hidden", type=int, required=True, help="MLP hidden width (Mixer: channel-mixing)")
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--context", type=int, default=64, help="GPT sequence length")
    p.add_argument("--patch", type=int, default=7, help="ViT / Mixer patch size")
    p.add_argument("--token-hidden", type=int, default=32, help="Mixer token-mixing hidden width")
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--step-gate", type=int, default=0, metavar="N",
                   help="take turns: wait for a line on standard input before every N-th step; run until it ends")
    a = p.parse_args()
    if a.step_gate < 0:
        p.error("--step-gate must be at least 1 step (or 0: not gated)")

    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    model = {"gpt": GPT, "vit": ViT, "mixer": Mixer}[a.model](a)
    if a.model == "gpt":
        inputs = torch.randint(0, 256, (a.batch, a.context))
        labels = torch.randint(0, 256, (a.batch * a.context,))
        smoothing, decay = 0.0, 0.1
    else:
        inputs = torch.randn(a.batch, 28 * 28)
        labels = torch.randint(0, 10, (a.batch,))
        smoothing, decay = 0.1, 0.05
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=decay)

    def step():
        optimizer.zero_grad(set_to_none=False)
        logits = model(inputs).reshape(labels.shape[0], -1)
        loss = F.cross_entropy(logits, labels, label_smoothing=smoothing)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    def gate_opens(count):
        """True to run step `count`; False when a gated run's standard input has ended."""
        if a.step_gate == 0:
            return count < a.warmup + a.steps
        if count % a.step_gate:
            return True
        print(f"pixelfly-step-gate {count}", flush=True)
        return sys.stdin.readline() != ""

    seconds, count = [], 0
    while gate_opens(count):
        start = time.perf_counter()
        step()
        if count >= a.warmup:
            seconds.append(time.perf_counter() - start)
        count += 1
    if len(seconds) < 2:
        sys.exit(f"pytorch-baseline: {len(seconds)} timed steps after {a.warmup} warm-up steps; "
                 "a median and quartiles need at least 2 (the gate closed too early)")
    q = statistics.quantiles(seconds, n=4)
    json.dump({"model": a.model, "parameters": sum(t.numel() for t in model.parameters()),
               "medianStepSeconds": statistics.median(seconds), "firstQuartileStepSeconds": q[0],
               "thirdQuartileStepSeconds": q[2], "steps": len(seconds), "batch": a.batch,
               "threads": torch.get_num_threads(), "torchVersion": torch.__version__,
               "mkldnn": torch.backends.mkldnn.is_available()}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
