#!/usr/bin/env bash
# The prepared check for a single-GPU machine: the GPU path's targets (scripts/gpu_check.py: zero host
# syncs, negative-sampling words/s and quality, the subword step's memory at a million words, determinism,
# the softmax's compiled bodies and memory, every head's speed-up over 2 CPU cores), PASS/FAIL each, most
# important first, each announced with its predicted seconds, and the encoding's scaling on the machine's
# cores, JSON under OUT_DIR, in under 8 minutes (boxes of 430 s and 30 s). Nothing is fetched: packages the
# machine lacks come as wheels in WHEELS_DIR (default .whl), the corpus as a file that travels with the tree.
#
#   bash scripts/gpu_check.sh OUT_DIR [CORPUS] [WHEELS_DIR]
#
# From a session with the device tool (gutenberg-large is 37 MB, under the 64 MiB a call carries):
#   echo /.gpu/ >> .git/info/exclude; mkdir -p .gpu; cp PATH/TO/gutenberg-large.txt.xz .gpu/   (not shipped:
#   the team's copy is in its shared data folder; data/MANIFEST.md names the source)
#   run(command="bash scripts/gpu_check.sh $OUT .gpu/gutenberg-large.txt.xz", carry=[".gpu"], timeout_s=500)
set -euo pipefail
out=${1:?usage: gpu_check.sh OUT_DIR [CORPUS] [WHEELS_DIR]}
corpus=${2:-data/gutenberg-mid.txt.xz}
wheels=${3:-.whl}
mkdir -p "$out"
if compgen -G "$wheels/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$wheels"/*.whl
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true
python3 -c "import torch, numba, tokenizers; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" \
    | tee "$out/versions.txt"
# deterministic cuBLAS for the determinism check (set before CUDA starts)
export CUBLAS_WORKSPACE_CONFIG=:4096:8
# every run is boxed and a check that would not end within the script's 420 s is skipped, so it ends in time
status=0
timeout 430 python3 scripts/gpu_check.py --corpus "$corpus" --out "$out/gpu.json" 2>&1 | tee "$out/log.txt" || status=$?
# the machine's 16 cores: encoding with 1 and 16 workers, and the prediction from per-piece seconds
# (README "Scaling out"), about 20 s on gutenberg-large
timeout 30 python3 scripts/bench_tokenize.py --corpus "$corpus" --plain --workers 1,16 --repeats 1 --predict 16 \
    --out "$out/encode-workers.json" 2>&1 | tail -3 | tee -a "$out/log.txt"
exit $status
