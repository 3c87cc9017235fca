/**
 * The gear dialog (the selected configuration, its overridable values,
 * "Start with these" and "Save as my configuration…") and the details of
 * a failed start.
 */
import {
  Dialog,
  InputDialog,
  Notification,
  showDialog
} from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Styling } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { personalConfig, validConfigName } from './api';
import { SparkModel } from './model';
import {
  baselineValue,
  checkValue,
  collectOverrides,
  keyOfMessage,
  parseInput,
  toInputText
} from './overrides';
import { IFailed } from './state';
import {
  IConfigDoc,
  IConfigInfo,
  IOverridableSpec,
  OverrideValue
} from './types';

let fieldCounter = 0;

/** The range or choices of a spec, for the field's description. */
function rangeText(spec: IOverridableSpec, trans: TranslationBundle): string {
  const has = (v: unknown) => v !== undefined && v !== null;
  if (
    spec.type === 'int' ||
    spec.type === 'memory' ||
    spec.type === 'duration'
  ) {
    if (has(spec.min) && has(spec.max)) {
      return trans.__('from %1 to %2', spec.min, spec.max);
    }
    if (has(spec.min)) {
      return trans.__('at least %1', spec.min);
    }
    if (has(spec.max)) {
      return trans.__('at most %1', spec.max);
    }
  }
  if (spec.type === 'string') {
    return trans.__('up to %1 bytes', spec.max_length ?? 256);
  }
  return '';
}

/** The form in the gear dialog; its value is the text of every input. */
export class OverridesForm
  extends Widget
  implements Dialog.IBodyWidget<Record<string, string>>
{
  constructor(options: OverridesForm.IOptions) {
    super();
    this._o = options;
    this.addClass('jp-StartSpark-form');
    this._build();
  }

  getValue(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, el] of Object.entries(this._inputs)) {
      out[key] = el.value;
    }
    return out;
  }

  /** The input of key (for tests and focus). */
  input(key: string): HTMLInputElement | HTMLSelectElement | undefined {
    return this._inputs[key];
  }

  private _build(): void {
    const { info, doc, specs, texts, errors, trans } = this._o;
    const node = this.node;
    const head = document.createElement('div');
    head.className = 'jp-StartSpark-formHead';
    const desc = info?.description || (doc.description as string) || '';
    if (desc) {
      const p = document.createElement('p');
      p.textContent = desc;
      head.appendChild(p);
    }
    const summary = info?.summary;
    if (summary) {
      const p = document.createElement('p');
      p.className = 'jp-StartSpark-formSummary';
      const parts = [
        summary.master ? trans.__('Master: %1', summary.master) : '',
        summary.cores !== null && summary.cores !== undefined
          ? trans.__(
              'Cores: %1',
              summary.cores === '*' ? trans.__('all') : summary.cores
            )
          : '',
        summary.memory ? trans.__('Memory: %1', summary.memory) : ''
      ].filter(Boolean);
      p.textContent = parts.join(' · ');
      head.appendChild(p);
    }
    node.appendChild(head);

    const general = document.createElement('div');
    general.className = 'jp-StartSpark-error jp-StartSpark-formError';
    general.setAttribute('role', 'alert');
    general.textContent = errors[''] ?? '';
    node.appendChild(general);

    const keys = Object.keys(specs);
    if (keys.length === 0) {
      const p = document.createElement('p');
      p.textContent = trans.__(
        'Your administrator made no value of this configuration changeable.'
      );
      node.appendChild(p);
      return;
    }
    for (const key of keys) {
      node.appendChild(
        this._field(key, specs[key], texts[key] ?? '', errors[key])
      );
    }
  }

  private _field(
    key: string,
    spec: IOverridableSpec,
    text: string,
    error: string | undefined
  ): HTMLElement {
    const { trans } = this._o;
    const id = `jp-StartSpark-field-${++fieldCounter}`;
    const row = document.createElement('div');
    row.className = 'jp-StartSpark-field';

    const label = document.createElement('label');
    label.htmlFor = id;
    label.textContent = key;
    row.appendChild(label);

    const help = document.createElement('div');
    help.className = 'jp-StartSpark-help';
    help.id = `${id}-help`;
    help.textContent = [spec.description ?? '', rangeText(spec, trans)]
      .filter(Boolean)
      .join(' — ');
    row.appendChild(help);

    let input: HTMLInputElement | HTMLSelectElement;
    if (spec.type === 'choice') {
      const sel = document.createElement('select');
      for (const c of spec.choices ?? []) {
        const opt = document.createElement('option');
        opt.value = String(c);
        opt.textContent = String(c);
        sel.appendChild(opt);
      }
      sel.value = text;
      input = sel;
      row.appendChild(Styling.wrapSelect(sel));
    } else {
      const inp = document.createElement('input');
      inp.className = 'jp-mod-styled';
      if (spec.type === 'int') {
        inp.type = 'number';
        inp.step = '1';
        if (typeof spec.min === 'number') {
          inp.min = String(spec.min);
        }
        if (typeof spec.max === 'number') {
          inp.max = String(spec.max);
        }
      } else {
        inp.type = 'text';
        if (spec.type === 'memory') {
          inp.placeholder = trans.__('e.g. 2g');
          inp.spellcheck = false;
        } else if (spec.type === 'duration') {
          inp.placeholder = trans.__('e.g. 30m, 2h, 1h30m');
          inp.spellcheck = false;
        } else if (spec.max_length !== undefined) {
          inp.maxLength = spec.max_length;
        }
      }
      inp.value = text;
      input = inp;
      row.appendChild(inp);
    }
    input.id = id;
    input.name = key;

    const err = document.createElement('div');
    err.className = 'jp-StartSpark-error';
    err.id = `${id}-error`;
    err.setAttribute('aria-live', 'polite');
    row.appendChild(err);
    input.setAttribute('aria-describedby', `${help.id} ${err.id}`);

    const show = (msg: string | null | undefined) => {
      err.textContent = msg ? `${key}: ${msg.replace(`${key}: `, '')}` : '';
      input.setAttribute('aria-invalid', msg ? 'true' : 'false');
      row.classList.toggle('jp-mod-invalid', !!msg);
    };
    show(error);
    // Client-side checks as the user types; the daemon checks again.
    input.addEventListener('input', () => {
      const t = (msg: string, ...args: unknown[]) => trans.__(msg, ...args);
      if (input.value.trim() === '' && spec.type !== 'string') {
        show(null);
        return;
      }
      const p = parseInput(spec, input.value, t);
      show('error' in p ? p.error : checkValue(spec, p.value, t));
    });
    this._inputs[key] = input;
    return row;
  }

  private _o: OverridesForm.IOptions;
  private _inputs: Record<string, HTMLInputElement | HTMLSelectElement> = {};
}

export namespace OverridesForm {
  export interface IOptions {
    info: IConfigInfo | undefined;
    doc: IConfigDoc;
    specs: Record<string, IOverridableSpec>;
    texts: Record<string, string>;
    /** Errors by key; '' for the whole form. */
    errors: Record<string, string>;
    trans: TranslationBundle;
  }
}

/**
 * The gear: shows the selected configuration's overridable values until
 * the user cancels, starts with valid values, or saves them.
 */
export async function configureDialog(
  model: SparkModel,
  trans: TranslationBundle
): Promise<void> {
  const t = (msg: string, ...args: unknown[]) => trans.__(msg, ...args);
  const name = model.selected;
  let doc: IConfigDoc;
  try {
    doc = await model.client.config(name);
  } catch (e) {
    await showDialog({
      title: trans.__('Spark configuration'),
      body: trans.__(
        'Could not load the configuration %1: %2',
        name,
        (e as Error).message
      ),
      buttons: [Dialog.okButton({ label: trans.__('Close') })]
    });
    return;
  }
  const info = model.selectedInfo;
  const specs = doc.overridable ?? info?.overridable ?? {};
  const keys = Object.keys(specs);
  const baselines: Record<string, OverrideValue | undefined> = {};
  let texts: Record<string, string> = {};
  for (const k of keys) {
    const launch =
      doc.launch && typeof doc.launch === 'object'
        ? (doc.launch as Record<string, unknown>)
        : null;
    baselines[k] =
      k === 'idle_stop' && specs[k].default === undefined
        ? typeof doc[k] === 'string'
          ? (doc[k] as string)
          : undefined
        : baselineValue(specs[k], doc.conf, k, launch);
    texts[k] = toInputText(model.overrides[k] ?? baselines[k]);
  }
  let errors: Record<string, string> = {};
  const running =
    model.state.kind === 'ready' || model.state.kind === 'starting';

  for (;;) {
    const body = new OverridesForm({ info, doc, specs, texts, errors, trans });
    const result = await showDialog({
      title: trans.__(
        'Spark configuration: %1',
        info?.display_name || doc.display_name || name
      ),
      body,
      focusNodeSelector: 'input, select',
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.createButton({
          label: trans.__('Save as my configuration…'),
          caption: trans.__('Save these values as a personal configuration'),
          actions: ['save'],
          accept: false
        }),
        Dialog.okButton({
          label: running
            ? trans.__('Restart with these')
            : trans.__('Start with these'),
          caption: running
            ? trans.__('Stop Spark and start it again with these values')
            : trans.__('Start Spark with these values'),
          actions: ['start']
        })
      ]
    });
    texts = result.value ?? body.getValue();
    const save = result.button.actions.includes('save');
    if (!save && !result.button.accept) {
      return;
    }
    const collected = collectOverrides(specs, texts, baselines, t);
    if (Object.keys(collected.errors).length > 0) {
      errors = collected.errors;
      continue;
    }
    errors = {};
    if (save) {
      const saved = await saveAs(model, doc, collected.overrides, trans);
      if (saved === true) {
        return;
      }
      if (saved) {
        errors = { [keyOfMessage(keys, saved) ?? '']: saved };
      }
      continue;
    }
    model.setOverrides(collected.overrides);
    const err = await model.start(collected.overrides, running);
    if (err && err.code === 'invalid_override') {
      errors = { [keyOfMessage(keys, err.message) ?? '']: err.message };
      continue;
    }
    return;
  }
}

/** Asks for a name and saves; true when saved, an error message, or null
 * when the user cancelled. */
async function saveAs(
  model: SparkModel,
  doc: IConfigDoc,
  overrides: Record<string, OverrideValue>,
  trans: TranslationBundle
): Promise<true | string | null> {
  const suggested = doc.source === 'user' ? doc.name : `${doc.name}-mine`;
  const r = await InputDialog.getText({
    title: trans.__('Save as my configuration'),
    label: trans.__('Name (letters, digits, "_", "." and "-"; at most 64)'),
    text: suggested,
    okLabel: trans.__('Save'),
    cancelLabel: trans.__('Cancel')
  });
  if (!r.button.accept || !r.value) {
    return null;
  }
  const name = r.value.trim();
  if (!validConfigName(name)) {
    return trans.__('"%1" is not a valid configuration name.', name);
  }
  try {
    await model.client.saveConfig(name, personalConfig(doc, name, overrides));
  } catch (e) {
    return (e as Error).message;
  }
  await model.refreshConfigs();
  model.select(name);
  Notification.success(trans.__('Saved the Spark configuration %1.', name), {
    autoClose: 4000
  });
  return true;
}

/** Details of a failed start: the message, the hint and the log tail. */
export async function showFailure(
  state: IFailed,
  trans: TranslationBundle
): Promise<void> {
  const body = new Widget();
  body.addClass('jp-StartSpark-details');
  const msg = document.createElement('p');
  msg.className = 'jp-StartSpark-detailsMessage';
  msg.textContent = state.message;
  body.node.appendChild(msg);
  if (state.hint) {
    const hint = document.createElement('p');
    hint.className = 'jp-StartSpark-detailsHint';
    hint.textContent = trans.__('Hint: %1', state.hint);
    body.node.appendChild(hint);
  }
  if (state.logTail.length > 0) {
    const h = document.createElement('div');
    h.textContent = trans.__('Last lines of the log:');
    body.node.appendChild(h);
    const pre = document.createElement('pre');
    pre.className = 'jp-StartSpark-log';
    pre.tabIndex = 0;
    pre.setAttribute('aria-label', trans.__('Log tail'));
    pre.textContent = state.logTail.join('\n');
    body.node.appendChild(pre);
  }
  await showDialog({
    title: state.config
      ? trans.__('Spark failed to start (%1)', state.config)
      : trans.__('Spark failed to start'),
    body,
    buttons: [Dialog.okButton({ label: trans.__('Close') })]
  });
}
