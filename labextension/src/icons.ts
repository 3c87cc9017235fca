import { LabIcon } from '@jupyterlab/ui-components';

import sparkSvg from '../style/spark-logo.svg';

/** The Start Spark logo: a spark over a baseline (an original drawing). */
export const sparkIcon = new LabIcon({
  name: 'start-spark:logo',
  svgstr: sparkSvg
});
