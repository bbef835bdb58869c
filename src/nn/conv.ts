import { Tensor } from '../tensor/tensor.js';
import { conv1d, conv2d } from '../ops/conv.js';
import { Module, Parameter } from './module.js';
import { checkPositiveInt, checkRng, uniformInit, type InitOptions } from './init.js';
import { ValueError } from '../errors.js';
import { checkOptions, type OptionKeys } from '../config.js';

interface ConvLayerOptions extends InitOptions { stride?: number; padding?: number; dilation?: number; groups?: number; bias?: boolean }
const CONV_KEYS: OptionKeys<ConvLayerOptions> = { rng: true, stride: true, padding: true, dilation: true, groups: true, bias: true };

function convParams(name: string, inC: number, outC: number, kernel: number[], o: ConvLayerOptions): { weight: Parameter; bias: Parameter | null } {
  checkPositiveInt(inC, name, 'inChannels');
  checkPositiveInt(outC, name, 'outChannels');
  kernel.forEach((k) => checkPositiveInt(k, name, 'kernelSize'));
  const groups = o.groups ?? 1;
  if (inC % groups !== 0 || outC % groups !== 0) throw new ValueError(`${name}: groups=${groups} must divide inChannels ${inC} and outChannels ${outC}`);
  const rng = checkRng(o, name);
  const fanIn = (inC / groups) * kernel.reduce((a, b) => a * b, 1);
  const bound = 1 / Math.sqrt(fanIn);
  return {
    weight: new Parameter(uniformInit([outC, inC / groups, ...kernel], bound, rng)),
    bias: o.bias === false ? null : new Parameter(uniformInit([outC], bound, rng)),
  };
}

/** 1-D convolution layer: [N, inChannels, L] → [N, outChannels, Lout]. */
export class Conv1d extends Module {
  weight: Parameter;
  bias: Parameter | null;
  constructor(inChannels: number, outChannels: number, kernelSize: number, readonly options: ConvLayerOptions = {}) {
    super();
    checkOptions('Conv1d', options, CONV_KEYS);
    ({ weight: this.weight, bias: this.bias } = convParams('Conv1d', inChannels, outChannels, [kernelSize], options));
  }
  forward(x: Tensor): Tensor {
    const { stride, padding, dilation, groups } = this.options;
    return conv1d(x, this.weight, this.bias, { stride, padding, dilation, groups });
  }
}

/** 2-D convolution layer: [N, inChannels, H, W] → [N, outChannels, OH, OW]. */
export class Conv2d extends Module {
  weight: Parameter;
  bias: Parameter | null;
  constructor(inChannels: number, outChannels: number, kernelSize: number | [number, number], readonly options: ConvLayerOptions = {}) {
    super();
    checkOptions('Conv2d', options, CONV_KEYS);
    const k = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : kernelSize;
    ({ weight: this.weight, bias: this.bias } = convParams('Conv2d', inChannels, outChannels, k, options));
  }
  forward(x: Tensor): Tensor {
    const { stride, padding, dilation, groups } = this.options;
    return conv2d(x, this.weight, this.bias, { stride, padding, dilation, groups });
  }
}
