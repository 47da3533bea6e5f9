import type { Catalog } from '../catalog/catalogTypes.ts';
import { requiredChannels } from '../preferences/preferences.ts';
import { renderTemplate, TemplateRenderError, UNSUBSCRIBE_URL_TEMPLATE_FIELD } from '../email/renderTemplate.ts';
import { DispatchError } from '../errors.ts';
import type { ChannelDispatcher, DispatchReceipt, EmailSender } from '../ports.ts';
import { deliveryMessageFor, type NotificationRecord, type RouteRecord } from '../types.ts';

/** The one-click unsubscribe link of a user and type (a URL with a signed token). */
export type UnsubscribeLink = (userId: string, notificationType: string) => Promise<string>;


/**
 * Email channel: renders the catalog template from the payload and sends it. An email a user may
 * turn off (its type does not require email) carries one-click unsubscribe headers (RFC 8058:
 * `List-Unsubscribe: <url>`, `List-Unsubscribe-Post: List-Unsubscribe=One-Click`), and its
 * template may place the same link with `{{unsubscribe_url}}`.
 */
export class EmailDispatcher implements ChannelDispatcher {
  public constructor(
    private readonly catalog: Catalog,
    private readonly sender: EmailSender,
    private readonly unsubscribeLink?: UnsubscribeLink,
  ) {}

  public async dispatch(notification: NotificationRecord, route: RouteRecord): Promise<DispatchReceipt> {
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
    const entry = this.catalog[notification.notification_type]!;
    const link = this.unsubscribeLink !== undefined && !requiredChannels(entry).includes('email')
      ? await this.unsubscribeLink(route.user_id, notification.notification_type)
      : undefined;
    let email;
    try {
      email = renderTemplate(template, link === undefined ? notification.payload : { ...notification.payload, [UNSUBSCRIBE_URL_TEMPLATE_FIELD]: link });
    } catch (error) {
      if (error instanceof TemplateRenderError) throw new DispatchError('template_render_failed', error.message, false, { cause: error });
      throw error;
    }
    const headers = link === undefined ? [] : [{ name: 'List-Unsubscribe', value: `<${link}>` }, { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' }];
    return this.sender.send({ to: route.email, email, route: deliveryMessageFor(route), ...(headers.length > 0 ? { headers } : {}) });
  }
}
