#!/usr/bin/python3
# PyTorch (CPU) peer of bench/sequences.ts: training throughput, in tokens/s, of the sequence models it
# measures in wasmgrad and TensorFlow.js, with the same shapes, data and optimizer.
#
#   /usr/bin/python3 bench/peers/torch-sequences.py --model lstm --batch 32 --threads 1
#
#   --model lstm|gru|textcnn   lstm/gru: nn.LSTM/nn.GRU(F, U, batch_first) over [batch, T, F] inputs, Linear(U, 10)
#                              on the last step; textcnn: Embedding(V, 64) → Conv1d(64, 64, 5) → ReLU → max over
#                              time → Linear(64, 2), token ids [batch, T]
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


if a.model == "textcnn":
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
print(json.dumps({"tokensPerSec": rates[len(rates) // 2], "torch": torch.__version__, "threads": a.threads}))
