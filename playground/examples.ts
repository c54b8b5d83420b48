/**
 * The playground's examples menu: each a function of tensors (as the text the
 * function editor holds) and its inputs (the inputs editor's text). The first
 * is the page's default.
 */

/** One example: its label in the menu, the function's text and the inputs' text. */
export interface Example {
  readonly label: string;
  readonly fn: string;
  readonly inputs: string;
}

/** The examples of the Examples menu, by id (the first is the page's default). */
export const EXAMPLES = {
  tanhSoftmax: {
    label: 'tanh · softmax of a matmul',
    fn: `// f(x, w): a scalar function of tensors; ct is cotangent
(x, w) => ct.sum(ct.mul(ct.tanh(ct.matmul(x, w)), ct.softmax(ct.matmul(x, w), -1)))
`,
    inputs: `x = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]
w = [[0.2, -0.4], [0.1, 0.3], [-0.5, 0.6]]
`,
  },
  seed: {
    label: 'ln(x1) + x1·x2 − sin(x2)',
    fn: `// the seed function: ∇f(2, 5) = [1/2 + 5, 2 − cos 5]
(x1, x2) => ct.sub(ct.add(ct.log(x1), ct.mul(x1, x2)), ct.sin(x2))
`,
    inputs: `x1 = 2
x2 = 5
`,
  },
  sumTanhSquare: {
    label: 'Σ tanh(x²)',
    fn: `(x) => ct.sum(ct.tanh(ct.mul(x, x)))
`,
    inputs: `x = [0.5, -1, 1.5, 2]
`,
  },
  reluLayer: {
    label: 'a ReLU layer and a squared loss',
    fn: `// mean squared error of relu(x·W + b) against 1
(W, b, x) => ct.mean(ct.square(ct.sub(ct.relu(ct.add(ct.matmul(x, W), b)), 1)))
`,
    inputs: `W = [[0.3, -0.2, 0.5], [0.1, 0.4, -0.3]]
b = [0.1, 0.0, -0.1]
x = [[1, 2], [-1, 0.5], [0.25, -2], [3, 1]]
`,
  },
  logsumexp: {
    label: 'logsumexp and a softplus',
    fn: `(x, y) => ct.add(ct.logsumexp(ct.mul(x, y), -1), ct.sum(ct.softplus(ct.sub(x, y))))
`,
    inputs: `x = [1.5, -0.5, 2, 0.25]
y = [0.5, 1, -1, 3]
`,
  },
} as const satisfies Record<string, Example>;

/** The id of an example. */
export type ExampleId = keyof typeof EXAMPLES;
