#!/usr/bin/python3
# PyTorch (CPU) peer of bench/sequences.ts: training throughput, in tokens/s, of the sequence models it
# measures in wasmgrad and TensorFlow.js, with the same shapes, data and optimizer.
#
#   /usr/bin/python3 bench/peers/torch-sequences.py --model lstm --batch 32 --threads 1
#
#   --model lstm|gru|textcnn|transformer   lstm/gru: nn.LSTM/nn.GRU(F, U, batch_first) over [batch, T, F] inputs,
#                              Linear(U, 10) on the last step; textcnn: Embedding(V, 64) → Conv1d(64, 64, 5) → ReLU →
#                              max over time → Linear(64, 2), token ids [batch, T]; transformer: 4 pre-norm
#                              nn.TransformerEncoderLayer(F, 4 heads, 4F feed-forward, ReLU, dropout 0) with a causal
#                              mask over [batch, T, F], a final LayerNorm, Linear(F, 10) on the last position
#   --batch N  --steps T [64]  --features F [128]  --units U [128]  --vocab V [20000]
#   --threads N            torch.set_num_threads(N), interop 1
#   --warmup N [5]  --timed N [20]   steps before timing, and steps timed (median of per-step rates)
# Adam(lr 1e-3), cross-entropy on logits, seeded uniform data; each step reads its loss with .item().
import argparse, json, os, sys, time

p = argparse.ArgumentParser()
p.add_argument("--model", default="lstm")
p.add_argument("--batch", type=int, default=32)
p.add_argument("--steps", type=int, default=64)
p.add_argument("--features", type=int, default=128)
p.add_argument("--units", type=int, default=128)
p.add_argument("--vocab", type=int, default=20000)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--warmup", type=int, default=5)
p.add_argument("--timed", type=int, default=20)
a = p.parse_args()
os.environ.setdefault("OMP_WAIT_POLICY", "passive")
# The pthread OpenBLAS Debian installs ignores torch.set_num_threads: give it the same count.
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(a.threads))
import torch, torch.nn as nn

torch.set_num_threads(a.threads)
torch.set_num_interop_threads(1)
torch.manual_seed(1)


class Recurrent(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.cell = cell(a.features, a.units, batch_first=True)
        self.head = nn.Linear(a.units, 10)

    def forward(self, x):
        out, _ = self.cell(x)
        return self.head(out[:, -1])


class TextCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(a.vocab, 64)
        self.conv = nn.Conv1d(64, 64, 5)
        self.head = nn.Linear(64, 2)

    def forward(self, ids):
        x = self.embed(ids).transpose(1, 2)
        return self.head(torch.relu(self.conv(x)).amax(dim=2))


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(a.features, 4, 4 * a.features, dropout=0.0, batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, 4, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(a.features)
        self.head = nn.Linear(a.features, 10)
        self.register_buffer("mask", torch.triu(torch.full((a.steps, a.steps), float("-inf")), diagonal=1))

    def forward(self, x):
        return self.head(self.norm(self.blocks(x, mask=self.mask))[:, -1])


if a.model == "transformer":
    model, classes = Transformer(), 10
    x = torch.rand(a.batch, a.steps, a.features) * 2 - 1
elif a.model == "textcnn":
    model, classes = TextCnn(), 2
    x = torch.randint(1, a.vocab, (a.batch, a.steps))
else:
    model, classes = Recurrent(nn.LSTM if a.model == "lstm" else nn.GRU), 10
    x = torch.rand(a.batch, a.steps, a.features) * 2 - 1
y = torch.randint(0, classes, (a.batch,))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
rates = []
for i in range(a.warmup + a.timed):
    t = time.perf_counter()
    opt.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    loss.item()
    if i >= a.warmup:
        rates.append(a.batch * a.steps / (time.perf_counter() - t))
rates.sort()
# Peak resident memory of this process from /proc (VmHWM): getrusage's ru_maxrss would carry over the
# peak of the process that started this one (Linux keeps it across exec).
with open("/proc/self/status") as status:
    peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({"tokensPerSec": rates[len(rates) // 2], "torch": torch.__version__, "threads": a.threads, "maxRssBytes": peak_kb * 1024}))
