#!/usr/bin/env python3
"""Forward pass of a `pixelfly-bench export` file, rebuilt with numpy alone.

    python3 scripts/reference-forward.py EXPORT.safetensors INPUTS.safetensors LOGITS.safetensors

EXPORT is written by `pixelfly-bench export`; INPUTS holds one tensor `inputs`: images (B, S*S)
for vit/mixer, or byte ids (B, T) stored as floats for gpt. The logits, computed in float64,
are written to LOGITS as the tensor `logits` (F64): (B, classes), or (B*T, 256) for the GPT.

Everything the forward needs comes from the export: the tensors, and in `__metadata__` the model
kind, its configuration (JSON) and how each linear layer is stored (`layers`, JSON). Safetensors
is read and written with `struct` and `json`; no package besides numpy. This is the reference
the Swift test `ExportReferenceTests` compares against (to 1e-4).
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    metadata = header.pop("__metadata__", {})
    base = 8 + length
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        dtype = np.dtype(DTYPES[entry["dtype"]]).newbyteorder("<")
        array = np.frombuffer(data[base + begin:base + end], dtype=dtype)
        tensors[name] = array.reshape(entry["shape"])
    return tensors, metadata


def write_safetensors(path, tensors):
    header, chunks, offset = {}, [], 0
    for name, array in tensors.items():
        raw = np.ascontiguousarray(array, dtype="<f8").tobytes()
        header[name] = {"dtype": "F64", "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


class Model:
    def __init__(self, tensors, metadata):
        if metadata.get("format") != "pixelfly-export-1":
            raise SystemExit("not a pixelfly export (metadata format %r)" % metadata.get("format"))
        self.t = {k: v.astype(np.float64) if v.dtype.kind == "f" else v for k, v in tensors.items()}
        self.kind = metadata["model"]
        self.config = json.loads(metadata["configuration"])
        self.layers = json.loads(metadata["layers"])
        self.eps = float(metadata["layer_norm_epsilon"])

    # -- pieces --------------------------------------------------------------------------------

    def linear(self, prefix, x):
        info, t = self.layers[prefix], self.t
        kind = info["kind"]
        if kind == "dense":
            y = x @ t[prefix + ".weight"].T
        elif kind == "low_rank":
            y = self.low_rank(prefix, x)
        elif kind == "block_sparse":
            y = self.block_sparse(prefix, x, info)
        elif kind == "monarch":
            y = self.monarch(prefix, x, info)
        elif kind == "pixelfly":
            s = self.block_sparse(prefix + ".sparse", x, info)
            l = self.low_rank(prefix + ".lowrank", x)
            if info["combination"] == "sum":
                y = s + l
            else:
                g = sigmoid(x @ t[prefix + ".gate.weight"].T + t[prefix + ".gate.bias"])  # (batch, 1)
                y = (1 - g) * s + g * l
        else:
            raise SystemExit("unknown layer kind %r at %s" % (kind, prefix))
        if info["bias"]:
            y = y + t[prefix + ".bias"]
        return y

    def low_rank(self, prefix, x):
        return (x @ self.t[prefix + ".v.weight"].T) @ self.t[prefix + ".u.weight"].T

    def block_sparse(self, prefix, x, info):
        blocks, index, b = self.t[prefix + ".weight"], self.t[prefix + ".block_index"], info["block_size"]
        y = np.zeros((x.shape[0], info["out_features"]))
        for k, (r, c) in enumerate(index):
            y[:, r * b:(r + 1) * b] += x[:, c * b:(c + 1) * b] @ blocks[k].T
        return y

    def monarch(self, prefix, x, info):
        """The reference MonarchLinear (HazyResearch/fly): zero-pad x to k*p, multiply block kappa
        by R[kappa] (q x p), read the flat h (k*q) as (r, l), multiply block lambda of that by
        L[lambda] (s x r), and lay the result out as (s, l) before truncating to out_features:

            h[b, kappa*q + t] = sum_pi R[kappa, t, pi] * x[b, kappa*p + pi]
            y[b, sigma*l + lambda] = sum_rho L[lambda, sigma, rho] * h[b, rho*l + lambda]
        """
        r1, r2 = self.t[prefix + ".blkdiag1"], self.t[prefix + ".blkdiag2"]
        (k, q, p), (l, s, r) = r1.shape, r2.shape
        n_in, n_out = info["in_features"], info["out_features"]
        if not (k == l == info["nblocks"] and k * q == l * r and k * p == info["in_features_extended"]
                and l * s == info["out_features_extended"] and k * p >= n_in and l * s >= n_out):
            raise SystemExit("inconsistent monarch shapes at %s: blkdiag1 %s, blkdiag2 %s, %s"
                             % (prefix, r1.shape, r2.shape, info))
        batch = x.shape[0]
        padded = np.zeros((batch, k * p))
        padded[:, :n_in] = x
        h = np.einsum("bkp,kqp->bkq", padded.reshape(batch, k, p), r1).reshape(batch, k * q)
        z = np.einsum("brl,lsr->bsl", h.reshape(batch, r, l), r2)
        return z.reshape(batch, s * l)[:, :n_out]

    def layer_norm(self, prefix, x):
        mean = x.mean(axis=-1, keepdims=True)
        variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        return (x - mean) / np.sqrt(variance + self.eps) * self.t[prefix + ".weight"] + self.t[prefix + ".bias"]

    def mlp(self, prefix, x):
        return self.linear(prefix + ".fc2", gelu(self.linear(prefix + ".fc1", x)))

    def attention(self, prefix, x, tokens, causal):
        c = self.config
        heads, width = c["heads"], c["width"]
        d = width // heads
        allowed = score_mask(tokens, c["attentionScores"], causal)
        q, k, v = (self.linear(prefix + "." + role, x) for role in ("query", "key", "value"))
        out = np.zeros_like(q)
        for start in range(0, x.shape[0], tokens):
            rows = slice(start, start + tokens)
            for h in range(heads):
                cols = slice(h * d, (h + 1) * d)
                scores = q[rows, cols] @ k[rows, cols].T / np.sqrt(d)
                scores = np.where(allowed, scores, -np.inf)
                p = np.exp(scores - scores.max(axis=1, keepdims=True))
                p /= p.sum(axis=1, keepdims=True)
                out[rows, cols] = p @ v[rows, cols]
        return self.linear(prefix + ".output", out)

    def transformer_blocks(self, x, tokens, causal):
        for i in range(self.config["depth"]):
            p = "blocks.%d" % i
            x = x + self.attention(p + ".attention", self.layer_norm(p + ".attention.norm", x), tokens, causal)
            x = x + self.mlp(p + ".mlp", self.layer_norm(p + ".mlp.norm", x))
        return x

    # -- models --------------------------------------------------------------------------------

    def forward(self, inputs):
        return {"vit": self.vit, "mixer": self.mixer, "gpt": self.gpt}[self.kind](inputs.astype(np.float64))

    def vit(self, images):
        c, t = self.config, self.t
        x = self.linear("patch_embedding", patchify(images, c["imageSize"], c["patchSize"]))
        batch, n = images.shape[0], (c["imageSize"] // c["patchSize"]) ** 2
        x = x.reshape(batch, n, -1)
        if c["pooling"] == "classToken":
            x = np.concatenate([np.broadcast_to(t["class_token"], (batch, 1, x.shape[2])), x], axis=1)
        tokens = x.shape[1]
        x = (x + t["positions"]).reshape(batch * tokens, -1)
        x = self.layer_norm("final_norm", self.transformer_blocks(x, tokens, causal=False)).reshape(batch, tokens, -1)
        pooled = x[:, 0] if c["pooling"] == "classToken" else x.mean(axis=1)
        return self.linear("head", pooled)

    def mixer(self, images):
        c = self.config
        batch, n = images.shape[0], (c["imageSize"] // c["patchSize"]) ** 2
        x = self.linear("patch_embedding", patchify(images, c["imageSize"], c["patchSize"]))
        for i in range(c["depth"]):
            p = "blocks.%d" % i
            h = self.layer_norm(p + ".token_mixing.norm", x).reshape(batch, n, -1).transpose(0, 2, 1)  # (B, C, T)
            mixed = self.mlp(p + ".token_mixing", h.reshape(-1, n)).reshape(batch, -1, n).transpose(0, 2, 1)
            x = x + mixed.reshape(batch * n, -1)
            x = x + self.mlp(p + ".channel_mixing", self.layer_norm(p + ".channel_mixing.norm", x))
        x = self.layer_norm("final_norm", x).reshape(batch, n, -1)
        return self.linear("head", x.mean(axis=1))

    def gpt(self, ids):
        c, t = self.config, self.t
        batch, tokens = ids.shape
        if tokens != c["context"]:
            raise SystemExit("inputs have %d tokens per row; this GPT's context is %d" % (tokens, c["context"]))
        x = t["token_embedding"][ids.round().astype(np.int64)] + t["positions"]
        x = self.transformer_blocks(x.reshape(batch * tokens, -1), tokens, causal=True)
        x = self.layer_norm("final_norm", x)
        return x @ t["token_embedding"].T if c["tiedHead"] else self.linear("head", x)


def gelu(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def patchify(images, size, patch):
    """(B, S*S) -> (B*N, p*p): row b*N + gy*g + gx, column py*p + px = pixel (gy*p + py, gx*p + px)."""
    g = size // patch
    x = images.reshape(-1, g, patch, g, patch).transpose(0, 1, 3, 2, 4)
    return x.reshape(-1, patch * patch)


def score_mask(tokens, scores, causal):
    """allowed[i, j]: query i may attend to key j (flat butterfly block grid, causal mask)."""
    allowed = np.ones((tokens, tokens), dtype=bool)
    if scores["kind"] == "flatButterfly":
        b, factors = scores["blockSize"], scores["factors"]
        blocks = np.arange(tokens) // b
        xor = blocks[:, None] ^ blocks[None, :]
        allowed = (xor == 0) | (((xor & (xor - 1)) == 0) & (xor < (1 << factors)))
    elif scores["kind"] != "dense":
        raise SystemExit("unknown attention score pattern %r" % scores["kind"])
    if causal:
        allowed &= np.tril(np.ones((tokens, tokens), dtype=bool))
    return allowed


def main(argv):
    if len(argv) != 4:
        raise SystemExit(__doc__)
    model = Model(*read_safetensors(argv[1]))
    inputs, _ = read_safetensors(argv[2])
    logits = model.forward(inputs["inputs"])
    write_safetensors(argv[3], {"logits": logits})
    print("%s: %d x %d logits written to %s" % (model.kind, logits.shape[0], logits.shape[1], argv[3]))


if __name__ == "__main__":
    main(sys.argv)
