import type { Catalog } from '../catalog/catalogTypes.ts';
import { renderTemplate, TemplateRenderError } from '../email/renderTemplate.ts';
import { DispatchError } from '../errors.ts';
import type { ChannelDispatcher, EmailSender } from '../ports.ts';
import type { NotificationRecord, RouteRecord } from '../types.ts';

/** Email channel: renders the catalog template from the payload and sends it. */
export class EmailDispatcher implements ChannelDispatcher {
  public constructor(
    private readonly catalog: Catalog,
    private readonly sender: EmailSender,
  ) {}

  public async dispatch(notification: NotificationRecord, route: RouteRecord): Promise<void> {
    if (route.email === undefined || route.email.trim() === '') {
      throw new DispatchError('recipient_missing', `recipient ${route.user_id} has no email address`, false);
    }
    const template = this.catalog[notification.notification_type]?.email;
    if (template === undefined) {
      throw new DispatchError(
        'template_render_failed',
        `notification_type "${notification.notification_type}" has no email template in the deployed catalog`,
        false,
      );
    }
    let email;
    try {
      email = renderTemplate(template, notification.payload);
    } catch (error) {
      if (error instanceof TemplateRenderError) throw new DispatchError('template_render_failed', error.message, false, { cause: error });
      throw error;
    }
    await this.sender.send({ to: route.email, email, routeId: route.route_id });
  }
}
