#!/usr/bin/env bash
# The dense-to-sparse experiment of notebooks-md/dense-to-sparse.md: train a dense MLP-Mixer on a
# Fashion-MNIST subset, convert it to Pixelfly and to Monarch, fine-tune each briefly, and train
# the same sparse models from scratch with the same seed. Logs and JSON go to
# results/dense-to-sparse/. About 10 minutes of an idle 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
# Build first (`nice swift build -c release --product pixelfly-bench`); run the script under
# `flock /tmp/pixelfly-timing.lock` on a shared machine.
bench=.build/release/pixelfly-bench
out=${OUT:-results/dense-to-sparse}
mkdir -p "$out"
# The model and data every run shares (the converted checkpoints store this model).
model=(--model mixer --patch-size 7 --width 256 --hidden 1024 --token-hidden 32 --depth 2 --token-linear dense
       --train-limit "${TRAIN_LIMIT:-12800}" --test-limit "${TEST_LIMIT:-10000}" --batch-size 64 --seed 0 --log-interval 100)
pixelfly=(--butterfly-size 16 --factors 2 --block-size 16 --rank 16)
monarch=(--nblocks 4)
# Defaults are the notebook's; OUT, TRAIN_LIMIT, TEST_LIMIT, EPOCHS, FINETUNE_EPOCHS override them.
epochs=${EPOCHS:-3}
finetune=${FINETUNE_EPOCHS:-1}

run() { local name=$1; shift; echo "== $name: $*"; "$bench" train "${model[@]}" "$@" --json "$out/$name.json" | tee "$out/$name.log"; }

uptime | tee "$out/load-before.txt"
run dense --linear dense --epochs "$epochs" --checkpoint "$out/dense.safetensors"
for target in pixelfly monarch; do
  if [ "$target" = pixelfly ]; then flags=("${pixelfly[@]}"); else flags=("${monarch[@]}"); fi
  /usr/bin/time -f "%e s wall" -o "$out/convert-$target.time" \
    "$bench" convert --checkpoint "$out/dense.safetensors" --to "$target" "${flags[@]}" --token-linear dense \
      --out "$out/$target-converted.safetensors" --json "$out/convert-$target.json" | tee "$out/convert-$target.log"
  # Accuracy straight after conversion: one step at learning rate 1e-12 changes nothing measurable.
  run "$target-converted-step0" --linear "$target" "${flags[@]}" --steps 1 --lr 1e-12 --resume "$out/$target-converted.safetensors"
  run "$target-finetuned" --linear "$target" "${flags[@]}" --epochs "$finetune" --lr 3e-4 --resume "$out/$target-converted.safetensors"
  run "$target-scratch" --linear "$target" "${flags[@]}" --epochs "$epochs"
done
"$bench" layers --shapes 256x1024 1024x256 --batches 1024 --threads 2 --kinds pixelfly monarch \
  -B 16 -K 2 -b 16 --rank 16 --nblocks 4 --repetitions 7 | tee "$out/layers.log"
# The README's layer shapes at the default job's Pixelfly budget (b = 32, rank 64); Monarch gets
# the power-of-two block count whose parameter count is closest.
"$bench" layers --shapes 1024x4096 4096x1024 768x3072 3072x768 --batches 1024 --threads 2 --kinds pixelfly monarch \
  --repetitions 5 | tee "$out/layers-large.log"
uptime | tee "$out/load-after.txt"
