#!/usr/bin/env bash
# The prepared check for a single-GPU machine: the GPU path's targets (scripts/gpu_check.py: zero host
# syncs, negative-sampling words/s and quality, every head's speed-up over 2 CPU cores, the softmax's
# compiled bodies and memory), PASS/FAIL each, and the encoding's scaling on the machine's cores, JSON
# under OUT_DIR, in under 9 minutes. Nothing is fetched: packages the machine lacks
# come as wheels in WHEELS_DIR (default .whl), the corpus as a file that travels with the tree.
#
#   bash scripts/gpu_check.sh OUT_DIR [CORPUS] [WHEELS_DIR]
#
# From a session with the device tool (gutenberg-large is 37 MB, under the 64 MiB a call carries):
#   echo /.gpu/ >> .git/info/exclude; mkdir -p .gpu; cp PATH/TO/gutenberg-large.txt.xz .gpu/   (not shipped:
#   the team's copy is in its shared data folder; data/MANIFEST.md names the source)
#   run(command="bash scripts/gpu_check.sh $OUT .gpu/gutenberg-large.txt.xz", carry=[".gpu"], timeout_s=540)
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
# every timed run is boxed (40 s), heads left when 380 s have passed are skipped, so it ends in time
status=0
timeout 450 python3 scripts/gpu_check.py --corpus "$corpus" --out "$out/gpu.json" 2>&1 | tee "$out/log.txt" || status=$?
# the machine's 16 cores: encoding with 1 and 16 workers, and the prediction from per-piece seconds
# (README "Scaling out"), about 30 s on gutenberg-large
timeout 70 python3 scripts/bench_tokenize.py --corpus "$corpus" --plain --workers 1,16 --repeats 1 --predict 16 \
    --out "$out/encode-workers.json" 2>&1 | tail -3 | tee -a "$out/log.txt"
exit $status
