/** The `--help` texts. */
import { DEFAULT_BACKEND } from './args.js';

export const MAIN_HELP = `cotangent — train, evaluate and inspect models built with cotangent

usage: cotangent <command> [flags]        (npm start = cotangent train)

commands:
  train   train a model, save a checkpoint and a training plot
  eval    accuracy and confusion matrix of a checkpoint on a data set
  graph   print or write the computation graph of a built-in example (DOT, text or SVG)
  export  write a checkpoint's model as an ONNX file for ONNX Runtime

Run 'cotangent <command> --help' for the flags of a command.
`;

export const TRAIN_HELP = `usage: cotangent train [flags]

  --data digits|fashion-mnist|PATH  data set (default digits: the embedded 8x8 digits,
                                    1,797 images, fixed 80/20 split). fashion-mnist reads
                                    /usr/share/datasets/fashion-mnist. PATH: a CSV file
                                    (features..., label; split 80/20) or a folder of
                                    MNIST-style IDX files (train-images-idx3-ubyte[.gz], ...).
                                    Labels are class indices below 65,536; the test data must
                                    have the training data's example shape and classes
  --header yes|no                   whether a CSV file's first line is a header (default: it
                                    is one exactly when none of its cells is a number)
  --model mlp|cnn|gru|lstm|SIZES    mlp (default): 64-128-10 on digits, 784-256-128-10
                                    otherwise; cnn: 2 x (conv 3x3 'same' + relu + maxpool 2x2)
                                    + dense; gru / lstm: each image read row by row by a
                                    64-unit recurrent layer (scan), then dense; SIZES like
                                    784-256-10 (relu between layers);
                                    transformer-addition: a 2-block decoder transformer learns
                                    3-digit + 3-digit addition (its own data; takes --steps,
                                    --batch, --lr, --seed, --backend, --no-jit) and prints
                                    its exact-match accuracy on 1,000 held-out problems
  --steps N                         training steps of transformer-addition (default 1200)
  --epochs N                        passes over the training set (default 30 digits, 10 otherwise)
  --batch N                         mini-batch size (default 64)
  --lr X                            learning rate (default adam, adamw and rmsprop 0.004 on
                                    digits, 0.001 otherwise; lion a quarter of that; adagrad
                                    0.1; momentum 0.05; sgd 0.1),
                                    cosine-decayed to 0 over the run
  --optimizer NAME                  sgd, momentum, adam (default), adamw (weight decay
                                    0.01), rmsprop, adagrad or lion (weight decay 0.001)
  --backend cpu|wasm|webgpu         where the tensors live and the kernels run (default ${DEFAULT_BACKEND}):
                                    cpu = plain JavaScript (f64-capable reference), wasm =
                                    WebAssembly SIMD kernels (f32), webgpu = the GPU through
                                    navigator.gpu or the 'webgpu' package (COTANGENT_WEBGPU_ADAPTER)
  --no-jit                          run each training step op by op instead of as one
                                    jitted (optimised, fused) program
  --seed N                          initialisation and shuffling seed (default 0)
  --out DIR                         output folder (default out/run): model.safetensors,
                                    training.svg, history.json, written together atomically;
                                    created and checked writable before training starts

Prints a progress bar per epoch (steps/s, loss), the test accuracy after each epoch,
the final test accuracy and the time taken.
`;

export const EVAL_HELP = `usage: cotangent eval --checkpoint PATH [flags]

  --checkpoint PATH                 a checkpoint folder (with model.safetensors) or file
  --data digits|fashion-mnist|PATH  evaluation data (default digits): the test split of
                                    digits / fashion-mnist, the test files of an IDX folder,
                                    or every row of a CSV file; labels must be below the
                                    model's class count
  --header yes|no                   whether a CSV file's first line is a header (default: it
                                    is one exactly when none of its cells is a number)
  --backend cpu|wasm|webgpu         where the evaluation runs (default ${DEFAULT_BACKEND}; any backend can
                                    read any checkpoint)
  --batch N                         evaluation batch size (default 500)

Prints the accuracy and the confusion matrix (rows: true class, columns: predicted).
`;

export const GRAPH_HELP = `usage: cotangent graph [flags]

  --example seed|mlp                seed (default): f(x1, x2) = ln(x1) + x1*x2 - sin(x2)
                                    at (2, 5); mlp: one dense + relu + dense layer with
                                    its softmax cross-entropy loss
  --format dot|text|svg             what to write (default: svg when --out ends in .svg,
                                    else dot); svg is drawn by Graphviz compiled to
                                    WebAssembly (@viz-js/viz), no system Graphviz needed
  --out FILE                        write to FILE instead of printing; a .dot FILE also
                                    gets its drawing beside it as FILE with .svg
`;

export const EXPORT_HELP = `usage: cotangent export --checkpoint PATH --out FILE [flags]

  --checkpoint PATH                 a checkpoint folder (with model.safetensors) or file
  --format onnx                     the file format (default onnx)
  --out FILE                        where to write the model, e.g. model.onnx
  --opset N                         the ONNX opset imported (17 to 22, default 17)

Writes the model's forward pass (input 'input' [batch, features...], output 'output'
[batch, classes], the batch dimension dynamic, parameters as initializers) and prints
its inputs, outputs and size. Run it with ONNX Runtime (onnxruntime-node, -web, or any
other runtime).
`;
