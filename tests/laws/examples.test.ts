/** Runs the law-kit example suite of examples/ (so the README's example stays true). */
import '../../examples/custom-primitive.laws.test.js';
