#!/usr/bin/env bash
# Benchmark on a GPU machine that has no Node and no network (how bench/RESULTS.md's
# real-GPU table was made). Prepare a folder .gpu/ here, then run this script there:
#   .gpu/node.xz                    xz -c $(which node)
#   .gpu/worker.mjs, .gpu/run.mjs   esbuild bench/worker.ts (--bundle --platform=node --format=esm
#                                   --external:webgpu, with a createRequire banner) and bench/run.ts
#   .gpu/node_modules/webgpu/       index.js, package.json, dist/linux-x64/dawn.node.xz
#   .gpu/debs/                      apt-get download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2
# It unpacks node and Dawn, finds the NVIDIA Vulkan driver and runs the WebGPU peers.
cd "$(dirname "$0")"
python3 -c "import lzma,shutil; shutil.copyfileobj(lzma.open('node.xz'), open('/tmp/node','wb'))" && chmod +x /tmp/node
python3 -c "import lzma,shutil; shutil.copyfileobj(lzma.open('node_modules/webgpu/dist/linux-x64/dawn.node.xz'), open('node_modules/webgpu/dist/linux-x64/dawn.node','wb'))"
for f in debs/*.deb; do dpkg -x "$f" /; done; ldconfig
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -f "$f" ]; then export VK_DRIVER_FILES="$f" VK_ICD_FILENAMES="$f"; echo "ICD $f"; break; fi
done
export COTANGENT_WEBGPU_ADAPTER=hardware AD=hardware
cat "$VK_DRIVER_FILES"; ldd $(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['ICD']['library_path'])" "$VK_DRIVER_FILES") 2>&1 | grep -i "not found"
BENCH_WORKER=$PWD/worker.mjs BENCH_SIZES=${BENCH_SIZES:-256,512,1024,2048,4096,8192} BENCH_MM_BATCH=10 BENCH_PEERS=cotangent-webgpu,tfjs-webgpu,jax-webgpu \
  timeout 450 /tmp/node run.mjs 2>&1 | grep -v '^Warning' | tee "$OUT/bench.txt"
